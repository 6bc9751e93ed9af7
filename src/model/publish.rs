//! Where an artifact is published, checked before the work that makes it: a trainer or importer
//! that runs for minutes (or hours) must not find out at the end that it cannot write its output.
//! The publish itself is `Artifact::write_atomic` (temporary name, fsync, rename).

use std::path::Path;

/// Why an artifact could not be published at a path.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The path names a directory, not a file.
    #[error("--out {0} is a directory; give the artifact's file name (e.g. {0}/current.endcap)")]
    IsDirectory(String),
    /// The folder the artifact would go in does not exist.
    #[error("--out {path}: the folder {dir} does not exist (create it first)")]
    NoFolder {
        /// The path asked for.
        path: String,
        /// Its folder.
        dir: String,
    },
    /// The folder exists but a file cannot be created in it.
    #[error("--out {path}: cannot create a file in {dir}: {source}")]
    NotWritable {
        /// The path asked for.
        path: String,
        /// Its folder.
        dir: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Checks that an artifact can be published at `path`: it is not a directory, its folder
/// exists, and a file can be created there (a probe file is created and removed).
pub fn check_destination(path: &Path) -> Result<(), DestinationError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return Err(DestinationError::IsDirectory(shown));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(DestinationError::NoFolder { path: shown, dir: dir.display().to_string() });
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let probe = dir.join(format!(".{name}.probe-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(source) => Err(DestinationError::NotWritable { path: shown, dir: dir.display().to_string(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_checked_with_clear_errors() {
        let dir = std::env::temp_dir().join(format!("endcap-publish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        check_destination(&dir.join("m.endcap")).expect("a writable folder");
        assert!(std::fs::read_dir(&dir).expect("list").next().is_none(), "the probe is removed");
        let e = check_destination(&dir).expect_err("a directory").to_string();
        assert!(e.contains("is a directory"), "{e}");
        let e = check_destination(&dir.join("missing/m.endcap")).expect_err("no folder").to_string();
        assert!(e.contains("missing") && e.contains("does not exist"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let ro = dir.join("ro");
            std::fs::create_dir_all(&ro).expect("dir");
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
            // root may write anyway; only check the error when the OS refuses.
            if std::fs::File::create(ro.join("x")).is_err() {
                let e = check_destination(&ro.join("m.endcap")).expect_err("read-only").to_string();
                assert!(e.contains("cannot create a file"), "{e}");
            }
            let _ = std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
