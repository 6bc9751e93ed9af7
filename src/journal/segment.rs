//! Segment files in the journal directory: listing them in order, creating a new one so that it
//! either exists with a whole header or not at all, syncing the directory, and the lock that keeps
//! a second writer out.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::format::{self, FileName};

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Its path.
    pub path: PathBuf,
    /// The sequence number of its first record (from its name; recovery checks the header agrees).
    pub first_seq: u64,
    /// Its size on disk now, header included.
    pub bytes: u64,
}

/// The segments in `dir`, oldest first. Files that are not segments are ignored, except a name
/// ending in `.journal` that is not one this code writes, which is an error rather than a
/// silently skipped part of the log.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentInfo>, JournalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io(dir, "list directory", e))? {
        let entry = entry.map_err(|e| JournalError::io(dir, "list directory", e))?;
        let name = entry.file_name();
        let path = entry.path();
        match format::parse_file_name(&name.to_string_lossy()) {
            FileName::Other => continue,
            FileName::Malformed => return Err(JournalError::UnexpectedFile { path }),
            FileName::Segment(first_seq) => {
                let bytes = entry.metadata().map_err(|e| JournalError::io(&path, "stat segment", e))?.len();
                out.push(SegmentInfo { path, first_seq, bytes });
            }
        }
    }
    out.sort_by_key(|s| s.first_seq);
    Ok(out)
}

/// Creates the segment for `first_seq` with its header: written to a temporary name, synced,
/// renamed, and the directory synced, so a crash leaves either no segment or a whole header.
/// Returns the file opened for appending and its path.
pub(crate) fn create_segment(dir: &Path, first_seq: u64) -> Result<(File, PathBuf), JournalError> {
    let path = dir.join(format::segment_file_name(first_seq));
    let tmp = path.with_extension("journal.tmp");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&tmp)
        .map_err(|e| JournalError::io(&tmp, "create segment", e))?;
    file.write_all(&format::encode_segment_header(first_seq))
        .map_err(|e| JournalError::io(&tmp, "write segment header", e))?;
    file.sync_all().map_err(|e| JournalError::io(&tmp, "sync new segment", e))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(|e| JournalError::io(&path, "rename new segment", e))?;
    sync_dir(dir)?;
    Ok((open_for_append(&path)?, path))
}

/// Opens an existing segment to append to it.
pub(crate) fn open_for_append(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new().append(true).open(path).map_err(|e| JournalError::io(path, "open segment for append", e))
}

/// Makes the directory's entries (new or renamed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| JournalError::io(dir, "sync directory", e))
}

/// Removes segments left half-created by a crash (`*.journal.tmp`); they never held a record.
pub(crate) fn remove_unfinished(dir: &Path) -> Result<(), JournalError> {
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io(dir, "list directory", e))?.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".journal.tmp") {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| JournalError::io(&path, "remove unfinished segment", e))?;
        }
    }
    Ok(())
}

/// An exclusive `flock` on `<dir>/LOCK`, held while the file is open (the kernel drops it when
/// the process dies, `kill -9` included).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock, or says another writer has it.
    pub(crate) fn take(dir: &Path) -> Result<DirLock, JournalError> {
        let path = dir.join("LOCK");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "open lock file", e))?;
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(JournalError::Locked { path });
            }
            return Err(JournalError::io(&path, "lock", err));
        }
        Ok(DirLock { _file: file })
    }
}
