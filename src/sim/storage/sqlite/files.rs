//! Where the labs keep their SQLite files: a directory the learner chose, or a temporary one.

use std::path::{Path, PathBuf};

use crate::sim::error::SimError;

/// Where a lab keeps its SQLite files: `keep` when the user asked for it (created if need be),
/// otherwise a temporary directory that lives as long as the returned guard.
pub(crate) fn lab_dir(
    keep: Option<&Path>,
) -> Result<(Option<tempfile::TempDir>, PathBuf), SimError> {
    match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|cause| SimError::Dir {
                path: dir.to_path_buf(),
                cause,
            })?;
            Ok((None, dir.to_path_buf()))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("msgwork-lab-")
                .tempdir()
                .map_err(|cause| SimError::Dir {
                    path: std::env::temp_dir(),
                    cause,
                })?;
            let path = temp.path().to_path_buf();
            Ok((Some(temp), path))
        }
    }
}

/// Removes a database and its WAL companions from an earlier run kept in the same directory.
pub(crate) fn remove_db(path: &Path) -> Result<(), SimError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(cause) => {
                return Err(SimError::Dir {
                    path: PathBuf::from(file),
                    cause,
                });
            }
        }
    }
    Ok(())
}
