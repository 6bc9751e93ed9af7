//! Recovery: a torn tail cut at every byte is recovered to the prefix and the sequence continues;
//! a flipped bit anywhere in a middle record, in an older segment or in a header is an error that
//! names the file and offset and changes nothing; a flipped bit in the tail record is truncated.

use std::fs;
use std::path::Path;

use super::*;

/// A one-segment journal of `n` records; returns its segment's bytes and file name.
fn small_journal(n: u64) -> (Vec<u8>, std::ffi::OsString) {
    let dir = TempDir::new("small");
    write_records(&config(dir.path(), FsyncPolicy::Never, 1 << 20), 1, n + 1);
    let seg = only_segment(dir.path());
    (fs::read(&seg).expect("read"), seg.file_name().expect("name").to_owned())
}

/// A fresh journal directory holding one segment with exactly `bytes`.
fn dir_with(tag: &str, name: &std::ffi::OsStr, bytes: &[u8]) -> TempDir {
    let dir = TempDir::new(tag);
    fs::write(dir.path().join(name), bytes).expect("write segment");
    dir
}

fn open(dir: &Path) -> Result<Journal, JournalError> {
    Journal::open(config(dir, FsyncPolicy::Never, 1 << 20))
}

#[test]
fn a_torn_tail_cut_at_every_byte_of_the_last_record_recovers_the_prefix_and_the_sequence_continues() {
    let (bytes, name) = small_journal(5);
    let starts = record_starts(&bytes);
    let last = *starts.last().expect("five records");
    for cut in last..bytes.len() {
        let dir = dir_with("torn", &name, &bytes[..cut]);
        let seg = dir.path().join(&name);

        let seen = verify(dir.path()).expect("a torn tail is not an error");
        let journal = open(dir.path()).expect("recovers");
        let rec = journal.recovery().clone();
        assert_eq!(seen, rec, "verify reports what open does");
        assert_eq!((rec.records, rec.next_seq, rec.last_seq()), (4, 5, Some(4)), "cut at {cut}");
        if cut == last {
            assert_eq!(rec.torn_tail, None, "a cut at a record boundary is a clean end");
        } else {
            let tail = rec.torn_tail.as_ref().expect("torn tail reported");
            assert_eq!(tail.path, seg);
            assert_eq!((tail.offset, tail.dropped_bytes, tail.dropped_records), (last as u64, (cut - last) as u64, 1));
            assert!(matches!(tail.problem, Corruption::Incomplete { .. }), "{:?}", tail.problem);
        }
        assert_eq!(fs::metadata(&seg).expect("stat").len(), last as u64, "truncated to the prefix");

        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let appended = rt.block_on(journal.append(&[b"after".as_slice()])).expect("append after recovery");
        assert_eq!(appended.first_seq, 5);
        journal.close().expect("close");
        let records = read_all(dir.path());
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(records[3].payload, payload(4));
        assert_eq!(records[4].payload, b"after");
    }
}

#[test]
fn a_flipped_bit_in_any_byte_of_a_middle_record_is_an_error_naming_the_file_and_offset() {
    let (bytes, name) = small_journal(10);
    let starts = record_starts(&bytes);
    let (start, end) = (starts[4], starts[5]);
    for at in start..end {
        let mut damaged = bytes.clone();
        damaged[at] ^= 1 << (at % 8);
        let dir = dir_with("flip-middle", &name, &damaged);
        let seg = dir.path().join(&name);
        let err = open(dir.path()).expect_err("damage in the middle does not open");
        match &err {
            JournalError::Corrupt { path, offset, valid_record_after, .. } => {
                assert_eq!((path, *offset), (&seg, start as u64), "byte {at}: {err}");
                assert!(valid_record_after.is_some(), "byte {at}: the next record is intact: {err}");
            }
            other => panic!("byte {at}: expected Corrupt, got {other}"),
        }
        let message = err.to_string();
        assert!(message.contains(&seg.display().to_string()) && message.contains(&format!("at byte {start}")));
        assert!(verify(dir.path()).is_err(), "verify agrees");
        assert_eq!(fs::read(&seg).expect("read"), damaged, "nothing truncated or rewritten");
    }
}

#[test]
fn a_flipped_bit_in_any_byte_of_the_tail_record_is_truncated() {
    let (bytes, name) = small_journal(6);
    let last = *record_starts(&bytes).last().expect("records");
    for at in last..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 1 << (at % 8);
        let dir = dir_with("flip-tail", &name, &damaged);
        let journal = open(dir.path()).expect("a damaged tail record is a torn tail");
        let rec = journal.recovery();
        assert_eq!((rec.records, rec.next_seq), (5, 6), "byte {at}");
        let tail = rec.torn_tail.as_ref().expect("reported");
        assert_eq!((tail.offset, tail.dropped_bytes), (last as u64, (bytes.len() - last) as u64));
        assert!(tail.dropped_records >= 1);
        drop(journal);
        assert_eq!(read_all(dir.path()).len(), 5);
    }
}

#[test]
fn an_intact_record_with_a_repeated_sequence_number_at_the_end_is_an_error_not_a_torn_tail() {
    let (mut bytes, name) = small_journal(3);
    let last = *record_starts(&bytes).last().expect("records");
    let copy = bytes[last..].to_vec();
    bytes.extend_from_slice(&copy);
    let dir = dir_with("repeat", &name, &bytes);
    let err = open(dir.path()).expect_err("a repeated record");
    assert!(
        matches!(&err, JournalError::Corrupt { problem: Corruption::Sequence { expected: 4, found: 3 }, .. }),
        "{err}"
    );
}

#[test]
fn zeros_after_the_last_record_as_power_loss_leaves_them_are_truncated() {
    let (mut bytes, name) = small_journal(3);
    let end = bytes.len() as u64;
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    let dir = dir_with("zeros", &name, &bytes);
    let journal = open(dir.path()).expect("recovers");
    let tail = journal.recovery().torn_tail.clone().expect("reported");
    assert_eq!((tail.offset, tail.dropped_bytes), (end, 4096));
    assert_eq!(journal.recovery().next_seq, 4);
}

/// Writes 40 records into 300-byte segments; returns the directory and its segments.
fn rotated_journal(tag: &str) -> (TempDir, Vec<SegmentInfo>) {
    let dir = TempDir::new(tag);
    write_records(&config(dir.path(), FsyncPolicy::Never, 300), 1, 41);
    let segments = list_segments(dir.path()).expect("segments");
    assert!(segments.len() >= 5, "{segments:?}");
    (dir, segments)
}

#[test]
fn damage_in_an_older_segment_is_an_error_even_in_its_last_record() {
    let (dir, segments) = rotated_journal("older");
    let first = &segments[0].path;
    let original = fs::read(first).expect("read");
    let last = *record_starts(&original).last().expect("records");

    let mut damaged = original.clone();
    damaged[original.len() - 1] ^= 0x10;
    fs::write(first, &damaged).expect("write");
    let err = open(dir.path()).expect_err("older segment damage");
    assert!(
        matches!(&err, JournalError::Corrupt { path, offset, problem: Corruption::Checksum { .. }, .. }
            if path == first && *offset == last as u64),
        "{err}"
    );

    fs::write(first, &original[..original.len() - 3]).expect("cut");
    let err = open(dir.path()).expect_err("an older segment cut short");
    assert!(
        matches!(&err, JournalError::Corrupt { path, problem: Corruption::Incomplete { .. }, .. } if path == first)
    );
    assert_eq!(fs::metadata(first).expect("stat").len(), original.len() as u64 - 3, "not truncated");
}

#[test]
fn a_damaged_segment_header_is_an_error_at_offset_zero() {
    let (dir, segments) = rotated_journal("header");
    let last = &segments.last().expect("segments").path;
    let mut bytes = fs::read(last).expect("read");
    bytes[20] ^= 1;
    fs::write(last, &bytes).expect("write");
    let err = open(dir.path()).expect_err("bad header");
    assert!(
        matches!(&err, JournalError::Corrupt { path, offset: 0, problem: Corruption::SegmentHeader(_), .. } if path == last)
    );
}

#[test]
fn a_missing_or_misnamed_segment_is_an_error() {
    let (dir, segments) = rotated_journal("missing");
    let gone = segments[2].path.clone();
    let bytes = fs::read(&gone).expect("read");
    fs::remove_file(&gone).expect("remove");
    let err = open(dir.path()).expect_err("gap");
    assert!(
        matches!(&err, JournalError::Corrupt { path, problem: Corruption::Sequence { .. }, .. } if *path == segments[3].path),
        "{err}"
    );
    // The same bytes under another name: the header disagrees with the name.
    let wrong = dir.path().join(format::segment_file_name(segments[2].first_seq + 1));
    fs::write(&wrong, &bytes).expect("write");
    assert!(open(dir.path()).is_err());
}

#[test]
fn a_stray_journal_file_is_an_error_and_other_files_are_ignored() {
    let (dir, _) = rotated_journal("stray");
    fs::write(dir.path().join("notes.txt"), b"ops").expect("write");
    fs::write(dir.path().join("00000000000000000099.journal.tmp"), b"half-made").expect("write");
    let journal = open(dir.path()).expect("opens");
    assert!(!dir.path().join("00000000000000000099.journal.tmp").exists(), "unfinished segment removed");
    drop(journal);
    fs::write(dir.path().join("7.journal"), b"??").expect("write");
    assert!(matches!(open(dir.path()), Err(JournalError::UnexpectedFile { .. })));
}

#[test]
fn a_second_writer_is_locked_out_until_the_first_closes() {
    let dir = TempDir::new("lock");
    let first = open(dir.path()).expect("first");
    assert!(matches!(open(dir.path()), Err(JournalError::Locked { .. })));
    first.close().expect("close");
    open(dir.path()).expect("free again");
}

#[test]
fn the_reader_stops_at_a_torn_tail_and_reports_it_without_cutting() {
    let (bytes, name) = small_journal(4);
    let dir = dir_with("reader-torn", &name, &bytes[..bytes.len() - 2]);
    let mut reader = Reader::open(dir.path(), 1).expect("reader");
    let mut seqs = Vec::new();
    while let Some(r) = reader.next_record().expect("a torn tail is not an error") {
        seqs.push(r.seq);
    }
    assert_eq!(seqs, [1, 2, 3]);
    assert!(reader.torn_tail().is_some());
    assert_eq!(fs::metadata(dir.path().join(&name)).expect("stat").len(), bytes.len() as u64 - 2);
}

#[test]
fn the_reader_refuses_a_flipped_bit_in_the_middle() {
    let (mut bytes, name) = small_journal(4);
    let at = record_starts(&bytes)[1] + RECORD_HEADER_BYTES;
    bytes[at] ^= 4;
    let dir = dir_with("reader-flip", &name, &bytes);
    let mut reader = Reader::open(dir.path(), 1).expect("reader");
    assert_eq!(reader.next_record().expect("first record intact").map(|r| r.seq), Some(1));
    assert!(matches!(reader.next_record(), Err(JournalError::Corrupt { .. })));
}
