//! Appending: round trips under every policy, rotation, sequence numbers across reopening,
//! readers (from a sequence number, following a live journal), concurrent producers keeping order
//! and count, the bounded queue refusing when full, and the refusals of bad batches.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

#[test]
fn records_round_trip_under_every_policy() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::IntervalMs(2), FsyncPolicy::Never] {
        let dir = TempDir::new("round-trip");
        let journal = Journal::open(config(dir.path(), policy, 1 << 20)).expect("open");
        assert_eq!(journal.recovery().next_seq, 1);
        let mut batch = Batch::new();
        let rt = rt();
        let mut next = 0u64;
        for size in [1usize, 3, 64, 2] {
            batch.clear();
            for _ in 0..size {
                batch.push(&payload(next)).expect("push");
                next += 1;
            }
            let ack = journal.submit(&batch).expect("queued");
            assert_eq!(ack.appended().count(), size as u64);
            let appended = rt.block_on(ack.wait()).expect("acknowledged");
            assert_eq!(appended.last_seq, next);
            assert_eq!(journal.acked_seq(), next);
        }
        journal.close().expect("close");
        let records = read_all(dir.path());
        assert_eq!(records.len() as u64, next, "{policy}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!((r.seq, &r.payload), (i as u64 + 1, &payload(i as u64)), "{policy}");
            assert!(r.unix_us > 1_600_000_000_000_000, "a unix time in microseconds");
        }
        assert!(records.windows(2).all(|w| w[0].unix_us <= w[1].unix_us), "times never go back");
    }
}

#[test]
fn segments_rotate_at_the_configured_size_and_are_named_by_their_first_record() {
    let dir = TempDir::new("rotate");
    let cfg = config(dir.path(), FsyncPolicy::Never, 400);
    let journal = Journal::open(cfg.clone()).expect("open");
    let rt = rt();
    let batch: Vec<Vec<u8>> = (0..50).map(payload).collect();
    rt.block_on(journal.append(&batch[..])).expect("one batch across many segments");
    let big = vec![7u8; 1000];
    let big_seq = rt.block_on(journal.append(&[&big])).expect("a record larger than a segment").first_seq;
    rt.block_on(journal.append(&[b"after".as_slice()])).expect("append");
    let segments = journal.segments().expect("segments");
    journal.close().expect("close");

    let records = read_all(dir.path());
    assert_eq!(records.len(), 52);
    assert!(segments.len() >= 8, "{segments:?}");
    for pair in segments.windows(2) {
        let in_first = records.iter().filter(|r| r.seq >= pair[0].first_seq && r.seq < pair[1].first_seq).count();
        assert!(in_first > 0, "no empty segment before another");
    }
    for seg in &segments {
        let holds_big = seg.first_seq == big_seq;
        assert!(holds_big || seg.bytes <= 400, "{seg:?} over the segment size");
        let first =
            Reader::open(dir.path(), seg.first_seq).expect("reader").next_record().expect("read").map(|r| r.seq);
        assert_eq!(first, Some(seg.first_seq), "named by its first record");
    }
    let holding_big = segments.iter().find(|s| s.first_seq == big_seq).expect("the big record starts a segment");
    assert_eq!(holding_big.bytes, (format::SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 1000) as u64, "alone");
    assert_eq!(verify(dir.path()).expect("verify").segments, segments.len());
}

#[test]
fn sequence_numbers_continue_across_reopening_and_rotation() {
    let dir = TempDir::new("reopen");
    let cfg = config(dir.path(), FsyncPolicy::Always, 500);
    assert_eq!(write_records(&cfg, 0, 10).next_seq, 1);
    let again = write_records(&cfg, 10, 30);
    assert_eq!((again.records, again.next_seq, again.torn_tail), (10, 11, None));
    // Opened and closed without appending: nothing changes.
    assert_eq!(write_records(&cfg, 30, 30).next_seq, 31);
    let last = write_records(&cfg, 30, 31);
    assert_eq!((last.records, last.first_seq, last.next_seq), (30, 1, 31));
    assert_eq!(last.last_unix_us, read_all(dir.path())[29].unix_us, "the time to stay after");
    let records = read_all(dir.path());
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=31).collect::<Vec<_>>());
    assert!(records.windows(2).all(|w| w[0].unix_us <= w[1].unix_us), "times never go back across reopening");
    assert!(records.iter().enumerate().all(|(i, r)| r.payload == payload(i as u64)));
    assert!(list_segments(dir.path()).expect("segments").len() > 3);
}

#[test]
fn a_reader_starts_at_any_sequence_number_and_follows_a_live_journal() {
    let dir = TempDir::new("reader");
    let journal = Journal::open(config(dir.path(), FsyncPolicy::Never, 300)).expect("open");
    let rt = rt();
    for i in 0..20 {
        rt.block_on(journal.append(&[payload(i)])).expect("append");
    }
    let segments = journal.segments().expect("segments");
    let starts = [1, 2, segments[1].first_seq, segments[1].first_seq + 1, 20];
    for from in starts {
        let mut reader = Reader::open(dir.path(), from).expect("reader");
        let mut seqs = Vec::new();
        while let Some(r) = reader.next_record().expect("read") {
            assert_eq!(r.payload, payload(r.seq - 1));
            seqs.push(r.seq);
        }
        assert_eq!(seqs, (from..=20).collect::<Vec<_>>(), "from {from}");
    }
    let mut beyond = Reader::open(dir.path(), 1000).expect("reader");
    assert!(beyond.next_record().expect("read").is_none());

    // Following: at the end now, then records appended since (across new segments) appear.
    let mut follower = Reader::open(dir.path(), 1).expect("reader");
    while follower.next_record().expect("read").is_some() {}
    for i in 20..40 {
        rt.block_on(journal.append(&[payload(i)])).expect("append");
    }
    let mut seqs = Vec::new();
    while let Some(r) = follower.next_record().expect("read") {
        seqs.push(r.seq);
    }
    assert_eq!(seqs, (21..=40).collect::<Vec<_>>());
    assert!(follower.torn_tail().is_none());
    journal.close().expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_from_many_tasks_keep_every_record_in_order_once() {
    const TASKS: u32 = 16;
    const APPENDS: u32 = 150;
    let dir = TempDir::new("concurrent");
    let journal = Arc::new(Journal::open(config(dir.path(), FsyncPolicy::IntervalMs(1), 64 << 10)).expect("open"));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let journal = Arc::clone(&journal);
        tasks.push(tokio::spawn(async move {
            let mut batch = Batch::new();
            let mut acks = Vec::new();
            let mut counter = 0u32;
            for a in 0..APPENDS {
                batch.clear();
                for _ in 0..1 + (a + task) % 8 {
                    batch
                        .push_with(|b| {
                            b.extend_from_slice(&task.to_le_bytes());
                            b.extend_from_slice(&counter.to_le_bytes());
                        })
                        .expect("push");
                    counter += 1;
                }
                acks.push(journal.append(&batch).await.expect("append"));
            }
            (task, acks, counter)
        }));
    }
    let mut expected = 0u64;
    let mut owner: HashMap<u64, u32> = HashMap::new();
    for t in tasks {
        let (task, acks, count) = t.await.expect("task");
        expected += u64::from(count);
        for a in acks {
            for seq in a.first_seq..=a.last_seq {
                assert!(owner.insert(seq, task).is_none(), "seq {seq} given twice");
            }
        }
    }
    Arc::try_unwrap(journal).expect("last handle").close().expect("close");

    let records = read_all(dir.path());
    assert_eq!(records.len() as u64, expected);
    let mut next_counter = vec![0u32; TASKS as usize];
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
        let task = u32::from_le_bytes(r.payload[0..4].try_into().expect("task"));
        let counter = u32::from_le_bytes(r.payload[4..8].try_into().expect("counter"));
        assert_eq!(owner.get(&r.seq), Some(&task), "the seq the append returned holds its record");
        assert_eq!(counter, next_counter[task as usize], "task {task}'s records in its order");
        next_counter[task as usize] += 1;
    }
}

#[test]
fn a_full_queue_refuses_appends_until_the_writer_catches_up() {
    let dir = TempDir::new("bounded");
    let cfg = JournalConfig { max_queued_bytes: 100_000, ..config(dir.path(), FsyncPolicy::Never, 1 << 20) };
    let journal = Journal::open(cfg).expect("open");
    let record = vec![1u8; 1000 - RECORD_HEADER_BYTES];
    let batch: Vec<&[u8]> = vec![&record; 10]; // 10,000 bytes queued per append

    journal.hold_writer(true);
    let mut acks = Vec::new();
    let refusal = loop {
        match journal.submit(&batch[..]) {
            Ok(ack) => acks.push(ack),
            Err(e) => break e,
        }
    };
    assert_eq!(acks.len(), 10);
    assert_eq!(refusal, AppendError::Overloaded { queued_bytes: 100_000, limit_bytes: 100_000 });
    assert_eq!(journal.queued_bytes(), 100_000);
    assert!(refusal.to_string().contains("overloaded"));
    assert!(journal.submit(&[b"x".as_slice()]).is_err(), "even one byte more is refused");

    journal.hold_writer(false);
    let rt = rt();
    let last = rt.block_on(async {
        let mut last = 0;
        for ack in acks {
            last = ack.wait().await.expect("acknowledged once written").last_seq;
        }
        last
    });
    assert_eq!(last, 100);
    assert_eq!(journal.queued_bytes(), 0);
    let after = rt.block_on(journal.append(&batch[..])).expect("room again");
    assert_eq!(after.first_seq, 101, "refused appends used no sequence numbers");
    journal.close().expect("close");
    assert_eq!(read_all(dir.path()).len(), 110);
}

#[test]
fn bad_batches_are_refused_whole() {
    let dir = TempDir::new("refusals");
    let cfg = JournalConfig { max_queued_bytes: 100_000, ..config(dir.path(), FsyncPolicy::Never, 1 << 20) };
    let journal = Journal::open(cfg).expect("open");
    let too_big = vec![0u8; MAX_RECORD_BYTES + 1];
    let empty: [&[u8]; 0] = [];
    assert_eq!(journal.submit(&empty).unwrap_err(), AppendError::Empty);
    assert!(matches!(journal.submit(&[b"ok".as_slice(), &too_big]), Err(AppendError::RecordTooLarge { .. })));
    let many = vec![vec![0u8; 1000]; 200];
    assert!(matches!(journal.submit(&many), Err(AppendError::BatchTooLarge { .. })));

    let mut batch = Batch::new();
    assert!(batch.push(&too_big).is_err());
    batch.push(b"kept").expect("push");
    assert!(batch.push_with(|b| b.extend_from_slice(&too_big)).is_err());
    assert_eq!((batch.len(), batch.payload_bytes(), batch.get(0)), (1, 4, Some(b"kept".as_slice())));
    let appended = rt().block_on(journal.append(&batch)).expect("append");
    assert_eq!((appended.first_seq, appended.last_seq), (1, 1), "nothing of the refused batches was queued");
    journal.close().expect("close");
    assert_eq!(read_all(dir.path()).len(), 1);
}
