//! Journal tests: the format byte by byte and the shared fixtures here; appends, rotation, the
//! queue and readers in `append.rs`; recovery from torn tails and corruption in `recovery.rs`.

mod append;
mod recovery;

use std::path::{Path, PathBuf};

use super::format::{self, FileName, RECORD_HEADER_BYTES, RecordHeader, SEGMENT_HEADER_BYTES};
use super::*;

/// A fresh directory under the system temp dir, removed on drop.
pub(super) struct TempDir(pub PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("endcap-journal-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A config for `dir` with the given policy and segment size.
pub(super) fn config(dir: &Path, fsync: FsyncPolicy, segment_bytes: u64) -> JournalConfig {
    JournalConfig { fsync, segment_bytes, ..JournalConfig::new(dir) }
}

/// The `i`-th test payload: its number and a length that varies from 0 to 60 bytes.
pub(super) fn payload(i: u64) -> Vec<u8> {
    let len = (i * 7 % 61) as usize;
    let mut p = i.to_le_bytes().to_vec();
    p.extend((0..len).map(|k| (i as usize + k) as u8));
    p
}

/// Appends payloads `from..to`, one record per append, then closes the journal.
pub(super) fn write_records(cfg: &JournalConfig, from: u64, to: u64) -> Recovery {
    let journal = Journal::open(cfg.clone()).expect("journal opens");
    let recovery = journal.recovery().clone();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        for i in from..to {
            journal.append(&[payload(i)]).await.expect("append");
        }
    });
    journal.close().expect("clean close");
    recovery
}

/// Every record in `dir`, through the reader.
pub(super) fn read_all(dir: &Path) -> Vec<Record> {
    let mut reader = Reader::open(dir, 0).expect("reader opens");
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().expect("intact journal") {
        out.push(r.to_record());
    }
    out
}

/// The only segment file in `dir`.
pub(super) fn only_segment(dir: &Path) -> PathBuf {
    let segments = list_segments(dir).expect("segments");
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments[0].path.clone()
}

/// Offsets at which each record of a segment's bytes starts (walked through the length fields).
pub(super) fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_BYTES;
    while at < bytes.len() {
        out.push(at);
        at += format::header_at(bytes, at).expect("whole header").record_bytes() as usize;
    }
    out
}

#[test]
fn segment_names_sort_as_numbers_and_parse_back() {
    assert_eq!(format::segment_file_name(1), "00000000000000000001.journal");
    assert_eq!(format::segment_file_name(u64::MAX), "18446744073709551615.journal");
    assert!(format::segment_file_name(9) < format::segment_file_name(10));
    assert_eq!(format::parse_file_name("00000000000000000042.journal"), FileName::Segment(42));
    assert_eq!(format::parse_file_name("42.journal"), FileName::Malformed);
    assert_eq!(format::parse_file_name("0000000000000000004x.journal"), FileName::Malformed);
    assert_eq!(format::parse_file_name("99999999999999999999.journal"), FileName::Malformed);
    assert_eq!(format::parse_file_name("00000000000000000042.journal.tmp"), FileName::Other);
    assert_eq!(format::parse_file_name("LOCK"), FileName::Other);
}

#[test]
fn segment_header_round_trips_and_each_check_fires() {
    let h = format::encode_segment_header(77);
    assert_eq!(&h[0..8], b"ENDCAPJL");
    assert_eq!(format::decode_segment_header(&h), Ok(77));
    let mut bad = h;
    bad[0] ^= 1;
    assert!(format::decode_segment_header(&bad).unwrap_err().contains("magic"));
    let mut bad = h;
    bad[17] ^= 1;
    assert!(format::decode_segment_header(&bad).unwrap_err().contains("checksum"));
    // A version bump with a matching checksum is refused as a version, not as damage.
    let mut v2 = h;
    v2[8] = 2;
    let crc = crc32fast::hash(&v2[0..24]);
    v2[24..28].copy_from_slice(&crc.to_le_bytes());
    assert!(format::decode_segment_header(&v2).unwrap_err().contains("version"));
}

#[test]
fn a_record_is_laid_out_as_documented_and_its_checksum_covers_every_field() {
    let mut buf = Vec::new();
    format::encode_record(&mut buf, 0x0102_0304_0506_0708, 1_700_000_000_000_000, b"hello");
    assert_eq!(buf.len(), RECORD_HEADER_BYTES + 5);
    assert_eq!(&buf[0..4], &5u32.to_le_bytes());
    assert_eq!(&buf[8..16], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(&buf[16..24], &1_700_000_000_000_000u64.to_le_bytes());
    assert_eq!(&buf[24..], b"hello");
    // CRC-32 (IEEE) of len | seq | unix_us | payload, checked against an independent computation.
    let mut fields = Vec::new();
    fields.extend_from_slice(&5u32.to_le_bytes());
    fields.extend_from_slice(&buf[8..24]);
    fields.extend_from_slice(b"hello");
    assert_eq!(&buf[4..8], &crc32fast::hash(&fields).to_le_bytes());

    let h = format::header_at(&buf, 0).expect("header");
    assert!(h.checksum_ok(b"hello"));
    assert!(!h.checksum_ok(b"hellp"));
    for field in [RecordHeader { seq: h.seq + 1, ..h }, RecordHeader { unix_us: h.unix_us ^ 1, ..h }] {
        assert!(!field.checksum_ok(b"hello"), "{field:?}");
    }
    assert!(format::header_at(&buf, 10).is_none());
}

#[test]
fn fsync_policies_parse_and_print_the_same_way() {
    for p in [FsyncPolicy::Always, FsyncPolicy::Never, FsyncPolicy::IntervalMs(5)] {
        assert_eq!(p.to_string().parse::<FsyncPolicy>(), Ok(p));
    }
    assert_eq!(" interval_ms( 20 ) ".parse::<FsyncPolicy>(), Ok(FsyncPolicy::IntervalMs(20)));
    for bad in ["sometimes", "interval_ms(0)", "interval_ms()", "interval_ms(5", "interval_ms(99999999)"] {
        assert!(bad.parse::<FsyncPolicy>().is_err(), "{bad}");
    }
}

#[test]
fn impossible_configs_are_refused_with_the_setting_named() {
    let dir = TempDir::new("config");
    let small_segment = JournalConfig { segment_bytes: 10, ..JournalConfig::new(dir.path()) };
    assert!(Journal::open(small_segment).unwrap_err().to_string().contains("segment_bytes"));
    let small_queue = JournalConfig { max_queued_bytes: 1000, ..JournalConfig::new(dir.path()) };
    assert!(Journal::open(small_queue).unwrap_err().to_string().contains("max_queued_bytes"));
}
