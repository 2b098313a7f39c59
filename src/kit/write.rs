//! Writing a kit's files into a directory: all of them or none, and never over a file that is
//! already there, whatever it holds, because it may be the learner's work.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use super::catalog::KitFile;
use super::error::KitError;

/// Writes `files` into `dir`, creating it and any folder a file needs, and returns the paths
/// written. If any file is in the way nothing is written; if writing fails part-way, what this
/// call created is removed again.
pub fn write_files(files: &[KitFile], dir: &Path) -> Result<Vec<PathBuf>, KitError> {
    if dir.exists() && !dir.is_dir() {
        return Err(KitError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let targets: Vec<PathBuf> = files.iter().map(|f| target(dir, f.path)).collect();
    let mut existing: Vec<PathBuf> = Vec::new();
    for file in files {
        if let Some(path) = in_the_way(dir, file.path)
            && !existing.contains(&path)
        {
            existing.push(path);
        }
    }
    if !existing.is_empty() {
        return Err(KitError::Occupied {
            dir: dir.to_path_buf(),
            existing,
        });
    }
    let mut made = Made::default();
    for (file, path) in files.iter().zip(&targets) {
        if let Err(err) = made.write(path, file.text) {
            made.undo();
            return Err(match err.kind() {
                // Another program created the file after the check above.
                ErrorKind::AlreadyExists => KitError::Occupied {
                    dir: dir.to_path_buf(),
                    existing: vec![path.clone()],
                },
                _ => KitError::Io {
                    path: path.clone(),
                    source: err,
                },
            });
        }
    }
    Ok(targets)
}

/// Where a kit file goes: its `/`-separated path below `dir`.
fn target(dir: &Path, path: &str) -> PathBuf {
    path.split('/')
        .fold(dir.to_path_buf(), |at, part| at.join(part))
}

/// The first thing on the way to a kit file that stops it being written: a file (or a link, even
/// one that leads nowhere) where it goes, or something other than a folder where a folder goes.
fn in_the_way(dir: &Path, path: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut at = dir.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        if last {
            return at.symlink_metadata().is_ok().then_some(at);
        }
        match std::fs::metadata(&at) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Some(at),
            Err(_) if at.symlink_metadata().is_ok() => return Some(at),
            Err(_) => return None,
        }
    }
    None
}

/// What one call created, so a failure can take it back.
#[derive(Default)]
struct Made {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Made {
    fn write(&mut self, path: &Path, text: &str) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            self.make_dirs(parent)?;
        }
        // create_new: the file must not exist, checked and created in one step by the system.
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        self.files.push(path.to_path_buf());
        file.write_all(text.as_bytes())?;
        file.sync_all()
    }

    /// Creates `dir` and the folders above it that are missing, remembering each one.
    fn make_dirs(&mut self, dir: &Path) -> std::io::Result<()> {
        if dir.as_os_str().is_empty() || dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.make_dirs(parent)?;
        }
        match std::fs::create_dir(dir) {
            Ok(()) => {
                self.dirs.push(dir.to_path_buf());
                Ok(())
            }
            Err(err) if err.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Removes what this call created, newest first; a folder only while it is empty.
    fn undo(&self) {
        for file in self.files.iter().rev() {
            let _ = std::fs::remove_file(file);
        }
        for dir in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: &[KitFile] = &[
        KitFile {
            path: "a.txt",
            about: "",
            text: "alpha",
        },
        KitFile {
            path: "src/deep/b.txt",
            about: "",
            text: "beta",
        },
    ];

    #[test]
    fn writes_every_file_creating_the_folders_it_needs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new").join("kit");
        let written = write_files(FILES, &dir).unwrap();
        assert_eq!(written, [dir.join("a.txt"), dir.join("src/deep/b.txt")]);
        assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "alpha");
        assert_eq!(
            std::fs::read_to_string(dir.join("src/deep/b.txt")).unwrap(),
            "beta"
        );
    }

    #[test]
    fn a_file_in_the_way_stops_everything_and_is_left_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.txt"), "mine").unwrap();
        let err = write_files(FILES, tmp.path()).unwrap_err();
        assert!(
            matches!(&err, KitError::Occupied { existing, .. } if existing == &[tmp.path().join("a.txt")]),
            "{err:?}"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a.txt")).unwrap(),
            "mine"
        );
        assert!(!tmp.path().join("src").exists(), "nothing else is written");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_way_is_never_followed_even_when_it_leads_nowhere() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere.txt");
        std::os::unix::fs::symlink(&elsewhere, tmp.path().join("a.txt")).unwrap();
        let err = write_files(FILES, tmp.path()).unwrap_err();
        assert!(matches!(err, KitError::Occupied { .. }), "{err:?}");
        assert!(!elsewhere.exists());
    }

    #[test]
    fn a_file_where_the_directory_should_be_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("kit");
        std::fs::write(&file, "mine").unwrap();
        let err = write_files(FILES, &file).unwrap_err();
        assert!(matches!(err, KitError::NotADirectory { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    }

    #[test]
    fn a_file_where_a_folder_of_the_kit_goes_is_in_the_way() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("src"), "mine").unwrap();
        let err = write_files(FILES, tmp.path()).unwrap_err();
        assert!(
            matches!(&err, KitError::Occupied { existing, .. } if existing == &[tmp.path().join("src")]),
            "{err:?}"
        );
        assert!(!tmp.path().join("a.txt").exists(), "nothing is written");
    }

    #[test]
    fn undoing_removes_what_was_created_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let mut made = Made::default();
        made.write(&tmp.path().join("new/deeper/a.txt"), "alpha")
            .unwrap();
        made.write(&tmp.path().join("b.txt"), "beta").unwrap();
        made.undo();
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["notes.txt"]);
    }
}
