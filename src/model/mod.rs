//! The model artifact: its format, how it is built, loaded and validated, and the loaded `Model`
//! that the engine reads from.
//!
//! A `Model` owns the artifact's bytes (a private copy of the file, or a buffer for a model built
//! in memory) and hands out the archived data in place. It is immutable: a new model is a new
//! `Model`, swapped in whole by the model lifecycle (`live::Live`). Nothing here knows about
//! requests.
//!
//! The file is read into memory the process owns rather than mapped: a map shares the file's
//! pages, so a `cp`, `scp` or `truncate` onto the served path would change or remove bytes under
//! a running request (a truncated map raises SIGBUS and kills the process). Only regular files
//! are read (a FIFO at the path would hang a reload; it is opened non-blocking and refused). The
//! cost is the model's size in anonymous memory instead of page cache (BENCHMARKS.md).

pub mod build;
mod customer_index;
pub mod format;
pub mod input;
pub mod load;
pub mod publish;
pub mod sign;
pub mod view;

use std::path::Path;
use std::time::SystemTime;

use rkyv::util::AlignedVec;

pub use build::{Artifact, BuildError, build, build_owned};
pub use format::{ArchivedModelData, BODY_ALIGN, Manifest};
pub use load::{LoadError, read_manifest};
pub use publish::{DestinationError, check_destination};
use view::f32s;

/// Largest artifact read (a wrong path must not make the server read a disk image).
pub const MAX_MODEL_BYTES: u64 = 64 << 30;

/// Where a model's bytes live.
enum Backing {
    /// A private copy of the artifact file, and which file it was.
    File(AlignedVec<BODY_ALIGN>, FileId),
    /// A model built in memory (the built-in demo).
    Owned(AlignedVec<BODY_ALIGN>),
}

impl Backing {
    fn bytes(&self) -> &[u8] {
        match self {
            Backing::File(v, _) | Backing::Owned(v) => v,
        }
    }
}

/// Identifies a file's contents cheaply: a publish by rename changes the inode, a rewrite in
/// place changes the length or the modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev_ino: (u64, u64),
    len: u64,
    modified: Option<SystemTime>,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            #[cfg(unix)]
            dev_ino: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// Reads the regular file at `path` whole into an aligned buffer, refusing anything else (a FIFO
/// is opened without blocking, then refused) and a file that changed while it was read.
fn read_private(path: &Path) -> Result<(AlignedVec<BODY_ALIGN>, FileId), LoadError> {
    use std::io::Read;
    let io = |source| LoadError::Io { path: path.display().to_string(), source };
    let invalid = |reason: String| LoadError::Invalid { source_name: path.display().to_string(), reason };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NONBLOCK | libc::O_NOCTTY);
    let mut file = opts.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(invalid(format!(
            "not a regular file ({}); publish models as files",
            if meta.is_dir() { "a directory" } else { "a FIFO, socket or device" }
        )));
    }
    if meta.len() > MAX_MODEL_BYTES {
        return Err(invalid(format!("{} bytes, over the {MAX_MODEL_BYTES}-byte limit", meta.len())));
    }
    let len = meta.len() as usize;
    let mut bytes = AlignedVec::<BODY_ALIGN>::with_capacity(len);
    bytes.resize(len, 0);
    let mut extra = [0u8; 1];
    let changed = match file.read_exact(&mut bytes) {
        Ok(()) => file.read(&mut extra).map_err(io)? != 0,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => true,
        Err(e) => return Err(io(e)),
    };
    let id = FileId::of(&meta);
    if changed || std::fs::metadata(path).is_ok_and(|m| FileId::of(&m) != id) {
        // Someone is writing the file in place; the watcher reads it again once it is quiet.
        let e = std::io::Error::new(std::io::ErrorKind::Interrupted, "the file changed while it was read");
        return Err(io(e));
    }
    Ok((bytes, id))
}

/// A validated, immutable model, read in place.
pub struct Model {
    backing: Backing,
    body_start: usize,
    manifest: Manifest,
    source: String,
    loaded_at: SystemTime,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("version", &self.manifest.model_version).field("source", &self.source).finish()
    }
}

impl Model {
    /// Reads and validates the artifact at `path`.
    pub fn load(path: &Path) -> Result<Model, LoadError> {
        Self::load_signed(path, None)
    }

    /// Reads the artifact at `path` into memory of its own, checks its signature when a
    /// `verifier` is given, and validates it.
    pub fn load_signed(path: &Path, verifier: Option<&sign::Verifier>) -> Result<Model, LoadError> {
        let (bytes, id) = read_private(path)?;
        if let Some(v) = verifier {
            v.verify(path, &bytes)
                .map_err(|reason| LoadError::Invalid { source_name: path.display().to_string(), reason })?;
        }
        Self::from_backing(Backing::File(bytes, id), path.display().to_string())
    }

    /// Validates a model built in memory, exactly as if it had been read from a file.
    pub fn from_artifact(artifact: Artifact, source: &str) -> Result<Model, LoadError> {
        Self::from_backing(Backing::Owned(artifact.into_file_bytes()), source.to_string())
    }

    /// Validates raw artifact bytes (for tests and tools).
    pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Model, LoadError> {
        let mut owned = AlignedVec::<BODY_ALIGN>::with_capacity(bytes.len());
        owned.extend_from_slice(bytes);
        Self::from_backing(Backing::Owned(owned), source.to_string())
    }

    fn from_backing(backing: Backing, source: String) -> Result<Model, LoadError> {
        let (manifest, body_start) = load::validate(backing.bytes())
            .map_err(|reason| LoadError::Invalid { source_name: source.clone(), reason })?;
        Ok(Model { backing, body_start, manifest, source, loaded_at: SystemTime::now() })
    }

    /// True when this model was mapped from the file now at `path`, unchanged since (same
    /// inode, length and modification time). False for models built in memory.
    pub fn is_file(&self, path: &Path) -> bool {
        match &self.backing {
            Backing::File(_, id) => std::fs::metadata(path).is_ok_and(|m| FileId::of(&m) == *id),
            Backing::Owned(_) => false,
        }
    }

    /// The whole artifact as validated (header and body): exactly the bytes this model serves
    /// from, for keeping a copy of it.
    pub fn file_bytes(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// The archived model data.
    #[inline]
    pub fn data(&self) -> &ArchivedModelData {
        // SAFETY: these exact bytes passed `rkyv::access` (full bytecheck validation) in
        // `from_backing`, and they are immutable for the life of `self`.
        unsafe { rkyv::access_unchecked::<ArchivedModelData>(&self.backing.bytes()[self.body_start..]) }
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The version every answer carries.
    pub fn version(&self) -> &str {
        &self.manifest.model_version
    }

    /// Where it came from: a path, or "built-in demo".
    pub fn source(&self) -> &str {
        &self.source
    }

    /// When it was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }

    /// Embedding width.
    #[inline]
    pub fn dim(&self) -> usize {
        self.manifest.dim as usize
    }

    /// Size of the artifact in bytes.
    pub fn size_bytes(&self) -> usize {
        self.backing.bytes().len()
    }

    /// All product vectors, row-major.
    #[inline]
    pub fn product_vectors(&self) -> &[f32] {
        f32s(&self.data().products.vectors)
    }

    /// All customer vectors, row-major.
    #[inline]
    pub fn customer_vectors(&self) -> &[f32] {
        f32s(&self.data().customers.vectors)
    }

    /// The vector of product `row`.
    #[inline]
    pub fn product_vector(&self, row: u32) -> &[f32] {
        let d = self.dim();
        &self.product_vectors()[row as usize * d..(row as usize + 1) * d]
    }

    /// The vector of customer `row`.
    #[inline]
    pub fn customer_vector(&self, row: u32) -> &[f32] {
        let d = self.dim();
        &self.customer_vectors()[row as usize * d..(row as usize + 1) * d]
    }
}

#[cfg(test)]
pub(crate) mod tests;
