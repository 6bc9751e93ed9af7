//! The journal's crash test: every acknowledged append survives `kill -9`, under each fsync policy.
//!
//! The test re-executes its own binary as a child in writer mode (`ENDCAP_JOURNAL_CRASH_CHILD`):
//! four tokio tasks append batches of 1..64 records as fast as they can and print
//! `ACK first last round task counter` to stdout (one flushed write per line) after each append's
//! future resolved. The parent reads those lines, waits for the first, lets the child run for a
//! random while (seeded: `ENDCAP_CRASH_SEED`), sends SIGKILL, reopens the journal (recovery cuts any
//! torn tail), and checks: sequence numbers run 1..=last with no gap or repeat and every checksum
//! verifies (the reader refuses anything else); every acknowledged sequence number is present and
//! holds exactly the record that was acknowledged under it; each task's records are in its order
//! with none missing before its last. The next child appends to the same journal. Assertions do
//! not depend on timing; only how much each child writes does.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use endcap::journal::{AppendError, Batch, FsyncPolicy, Journal, JournalConfig, Reader};
use endcap::rng::SplitMix64;

const CHILD_ENV: &str = "ENDCAP_JOURNAL_CRASH_CHILD";
const TEST_NAME: &str = "every_acknowledged_append_survives_kill_9";
const TASKS: u32 = 4;

fn journal_config(dir: &Path, fsync: FsyncPolicy) -> JournalConfig {
    // Small segments, so kills also land around rotations.
    JournalConfig { fsync, segment_bytes: 256 << 10, max_queued_bytes: 4 << 20, ..JournalConfig::new(dir) }
}

/// A record: round, task, counter, then a filler whose bytes follow from them.
fn encode(out: &mut Vec<u8>, round: u32, task: u32, counter: u64, filler: usize) {
    out.extend_from_slice(&round.to_le_bytes());
    out.extend_from_slice(&task.to_le_bytes());
    out.extend_from_slice(&counter.to_le_bytes());
    out.extend((0..filler).map(|k| (counter as u8).wrapping_add(k as u8) ^ task as u8));
}

/// `(round, task, counter)` of a record, checking its filler.
fn decode(p: &[u8]) -> Option<(u32, u32, u64)> {
    let round = u32::from_le_bytes(p.get(0..4)?.try_into().ok()?);
    let task = u32::from_le_bytes(p.get(4..8)?.try_into().ok()?);
    let counter = u64::from_le_bytes(p.get(8..16)?.try_into().ok()?);
    let filler_ok = p[16..].iter().enumerate().all(|(k, &b)| b == (counter as u8).wrapping_add(k as u8) ^ task as u8);
    filler_ok.then_some((round, task, counter))
}

/// Writer mode: append until killed.
fn child(spec: &str) -> ! {
    let mut parts = spec.split('|');
    let (Some(dir), Some(policy), Some(round), Some(seed)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("bad {CHILD_ENV}: {spec}");
    };
    let fsync: FsyncPolicy = policy.parse().expect("policy");
    let round: u32 = round.parse().expect("round");
    let seed: u64 = seed.parse().expect("seed");
    let journal = Arc::new(Journal::open(journal_config(Path::new(dir), fsync)).expect("child opens the journal"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async move {
        for task in 0..TASKS {
            let journal = Arc::clone(&journal);
            tokio::spawn(async move {
                let mut rng = SplitMix64::new(seed ^ u64::from(task) << 32 ^ u64::from(round));
                let mut batch = Batch::new();
                let mut counter = 0u64;
                let mut line = Vec::with_capacity(64);
                loop {
                    batch.clear();
                    for i in 0..1 + rng.below(64) as u64 {
                        let filler = rng.below(200);
                        batch.push_with(|b| encode(b, round, task, counter + i, filler)).expect("push");
                    }
                    match journal.append(&batch).await {
                        Ok(a) => {
                            line.clear();
                            writeln!(line, "ACK {} {} {round} {task} {counter}", a.first_seq, a.last_seq).expect("fmt");
                            let mut out = std::io::stdout().lock();
                            out.write_all(&line).and_then(|()| out.flush()).expect("stdout");
                            counter += a.count();
                        }
                        Err(AppendError::Overloaded { .. }) => tokio::task::yield_now().await,
                        Err(e) => panic!("append: {e}"),
                    }
                }
            });
        }
        std::future::pending::<()>().await
    });
    unreachable!("the writer runs until it is killed")
}

/// One acknowledged append, as the child printed it.
#[derive(Debug, Clone, Copy)]
struct AckLine {
    first: u64,
    last: u64,
    round: u32,
    task: u32,
    counter: u64,
}

fn parse_ack(line: &str) -> Option<AckLine> {
    let rest = &line[line.find("ACK ")? + 4..];
    let f: Vec<u64> = rest.split_whitespace().map(|w| w.parse().ok()).collect::<Option<_>>()?;
    let [first, last, round, task, counter] = f[..] else { return None };
    Some(AckLine { first, last, round: round as u32, task: task as u32, counter })
}

/// Runs one child until a random moment after its first acknowledgement, then SIGKILLs it.
/// Returns every acknowledgement it printed.
fn run_and_kill(dir: &Path, policy: FsyncPolicy, round: u32, seed: u64, run_for: Duration) -> Vec<AckLine> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, format!("{}|{policy}|{round}|{seed}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the writer");
    let stdout = child.stdout.take().expect("piped");
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        let mut first_tx = Some(first_tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(ack) = parse_ack(&line) {
                acks.push(ack);
                if let Some(tx) = first_tx.take() {
                    let _ = tx.send(());
                }
            }
        }
        acks
    });
    // Blocks until the first acknowledgement, or fails if the child died before it.
    first_rx.recv().expect("the writer acknowledged nothing before exiting (see its stderr above)");
    std::thread::sleep(run_for);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(status.code().is_none(), "the child was killed by a signal, not exited: {status}");
    reader.join().expect("reader thread")
}

/// Totals for one policy.
#[derive(Debug, Default)]
struct Tally {
    kills: u32,
    acked: u64,
    in_journal: u64,
    torn_tails: u32,
    torn_bytes: u64,
    torn_records: u64,
    lost: u64,
}

/// Reopens the journal after a kill, and checks it against every acknowledgement so far.
fn check(dir: &Path, policy: FsyncPolicy, acks: &[AckLine], tally: &mut Tally) {
    let journal = Journal::open(journal_config(dir, policy)).expect("recovery after kill -9");
    if let Some(t) = &journal.recovery().torn_tail {
        tally.torn_tails += 1;
        tally.torn_bytes += t.dropped_bytes;
        tally.torn_records += t.dropped_records;
    }
    journal.close().expect("close");

    // The reader verifies every checksum and that sequence numbers continue by one.
    let mut records = Vec::new();
    let mut reader = Reader::open(dir, 1).expect("reader");
    while let Some(r) = reader.next_record().expect("every record after recovery is intact") {
        assert_eq!(r.seq, records.len() as u64 + 1, "sequence numbers 1, 2, 3, ... once each");
        records.push(decode(r.payload).unwrap_or_else(|| panic!("record {} has a garbled payload", r.seq)));
    }
    assert!(reader.torn_tail().is_none(), "recovery left no torn tail");
    let mut next: HashMap<(u32, u32), u64> = HashMap::new();
    for (i, &(round, task, counter)) in records.iter().enumerate() {
        let want = next.entry((round, task)).or_insert(0);
        assert_eq!(counter, *want, "seq {}: round {round} task {task} out of order or with a hole", i + 1);
        *want += 1;
    }
    let lost: u64 = acks.iter().map(|a| a.last.saturating_sub((records.len() as u64).max(a.first - 1))).sum();
    assert_eq!(lost, 0, "acknowledged records missing; the journal ends at seq {}", records.len());
    let mut owner = vec![false; records.len() + 1];
    for a in acks {
        for (i, seq) in (a.first..=a.last).enumerate() {
            assert!(!std::mem::replace(&mut owner[seq as usize], true), "seq {seq} acknowledged twice");
            assert_eq!(
                records[seq as usize - 1],
                (a.round, a.task, a.counter + i as u64),
                "seq {seq} holds another record"
            );
        }
    }
    tally.acked = acks.iter().map(|a| a.last - a.first + 1).sum();
    tally.in_journal = records.len() as u64;
    tally.lost += lost;
}

#[test]
fn every_acknowledged_append_survives_kill_9() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
    }
    let seed = std::env::var("ENDCAP_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x00C0_FFEE);
    let mut rng = SplitMix64::new(seed);
    let started = Instant::now();
    println!("seed {seed}");
    println!(
        "| policy | kills | acknowledged | in journal after the last kill | lost | torn tails cut (bytes, records) |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for (policy, kills) in [(FsyncPolicy::Always, 12), (FsyncPolicy::IntervalMs(5), 12), (FsyncPolicy::Never, 4)] {
        let dir = scratch_dir(&policy.to_string());
        let mut acks = Vec::new();
        let mut tally = Tally::default();
        for round in 0..kills {
            let run_for = Duration::from_millis(rng.below(150) as u64);
            acks.extend(run_and_kill(&dir, policy, round, rng.next_u64(), run_for));
            tally.kills += 1;
            check(&dir, policy, &acks, &mut tally);
        }
        println!(
            "| {policy} | {} | {} | {} | {} | {} ({}, {}) |",
            tally.kills,
            tally.acked,
            tally.in_journal,
            tally.lost,
            tally.torn_tails,
            tally.torn_bytes,
            tally.torn_records
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("took {:.1} s", started.elapsed().as_secs_f64());
}

fn scratch_dir(tag: &str) -> PathBuf {
    let tag: String = tag.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let dir = std::env::temp_dir().join(format!("endcap-journal-crash-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
