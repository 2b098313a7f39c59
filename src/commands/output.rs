//! Files and directories the learner names for msgwork to write (a report, a trace, a chart, the
//! lab's databases): never the progress store, whatever path or link leads to it, and never an
//! existing file unless `--force` says so.

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::store::FILE_NAME;

/// The files SQLite keeps beside the store while it writes: they are part of it.
const COMPANIONS: [&str; 4] = ["", "-journal", "-wal", "-shm"];

/// What msgwork must never write over: the store and its companions in the data directory.
pub struct Outputs {
    data_dir: PathBuf,
    store: PathBuf,
    /// `--force`: existing files (not the store) may be replaced.
    force: bool,
}

impl Outputs {
    pub fn new(data_dir: &Path, force: bool) -> Self {
        Outputs {
            data_dir: data_dir.to_path_buf(),
            store: data_dir.join(FILE_NAME),
            force,
        }
    }

    /// Checks, before any work is done, that `path` may be written as `what` (such as "the
    /// trace (--trace)"): it is not the store, not a directory, and new unless `--force`.
    pub fn check_file(&self, path: &Path, what: &str) -> Result<()> {
        match std::fs::metadata(path) {
            Ok(meta) => {
                if self.is_store(path, Some(&meta)) {
                    bail!(self.store_refusal(path, what));
                }
                if meta.is_dir() {
                    bail!(
                        "cannot write {what} to {}: it is a directory; name a file",
                        path.display()
                    );
                }
                if meta.is_file() && !self.force {
                    bail!(
                        "refusing to replace {} with {what}: the file already exists; choose \
                         another file name, or pass --force to replace it",
                        path.display()
                    );
                }
            }
            Err(_) if path.symlink_metadata().is_ok() && !self.force => bail!(
                "refusing to write {what} through {}: it is a link to a file that does not \
                 exist; choose another file name, or pass --force to write through it",
                path.display()
            ),
            Err(_) => {
                if self.is_store(path, None) {
                    bail!(self.store_refusal(path, what));
                }
            }
        }
        Ok(())
    }

    /// Opens `path` to write `what`, after [`Outputs::check_file`]. The file is checked again
    /// once open, by identity, so a link swapped in meanwhile cannot lead to the store; an
    /// existing regular file is emptied only then.
    pub fn create_file(&self, path: &Path, what: &str) -> Result<File> {
        self.check_file(path, what)?;
        let cannot = || {
            format!(
                "cannot write {what} to {}; choose a path in a writable directory",
                path.display()
            )
        };
        let existed = path.exists();
        let file = if existed {
            OpenOptions::new().write(true).open(path)
        } else {
            OpenOptions::new().write(true).create_new(true).open(path)
        };
        let file = match file {
            Err(err) if err.kind() == ErrorKind::AlreadyExists => bail!(
                "refusing to replace {} with {what}: the file appeared while msgwork was \
                 starting; choose another file name, or pass --force to replace it",
                path.display()
            ),
            other => other.with_context(cannot)?,
        };
        let meta = file.metadata().with_context(cannot)?;
        if self.is_store(path, Some(&meta)) {
            bail!(self.store_refusal(path, what));
        }
        if existed && meta.is_file() {
            file.set_len(0).with_context(cannot)?;
        }
        Ok(file)
    }

    /// Writes `text` to `path` as `what`, with the same checks as [`Outputs::create_file`].
    pub fn write_file(&self, path: &Path, what: &str, text: &str) -> Result<()> {
        use std::io::Write as _;
        let mut file = self.create_file(path, what)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .with_context(|| format!("writing {what} to {} failed", path.display()))
    }

    /// Checks a directory the lab is to keep its databases in (`--keep-db`): not the data
    /// directory, and new or empty unless `--force` lets the lab replace its own files there.
    pub fn check_dir(&self, dir: &Path, what: &str) -> Result<()> {
        let Ok(meta) = std::fs::metadata(dir) else {
            return Ok(());
        };
        if !meta.is_dir() {
            bail!(
                "cannot keep {what} in {}: it is a file, not a directory; name a new or empty \
                 directory",
                dir.display()
            );
        }
        let canonical = |p: &Path| std::fs::canonicalize(p).ok();
        if canonical(dir).is_some() && canonical(dir) == canonical(&self.data_dir) {
            bail!(
                "refusing to keep {what} in {}: it is your data directory, which holds your \
                 progress store; name another directory",
                dir.display()
            );
        }
        let occupied = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the directory {}", dir.display()))?
            .next()
            .is_some();
        if occupied && !self.force {
            bail!(
                "refusing to keep {what} in {}: the directory already holds files; name a new or \
                 empty directory, or pass --force to let the lab replace its own files there",
                dir.display()
            );
        }
        Ok(())
    }

    fn store_refusal(&self, path: &Path, what: &str) -> String {
        format!(
            "refusing to write {what} to {}: that is your progress store {}, which holds every \
             run you recorded; choose another file name (--force does not change this)",
            path.display(),
            self.store.display()
        )
    }

    /// Whether `path` (with its metadata when it exists) is the store or one of its companions:
    /// the same file by identity, whatever links lead there, or the same place by name.
    fn is_store(&self, path: &Path, meta: Option<&Metadata>) -> bool {
        COMPANIONS.iter().any(|suffix| {
            let mut name = self.store.clone().into_os_string();
            name.push(suffix);
            let companion = PathBuf::from(name);
            let same_file = match (meta, std::fs::metadata(&companion)) {
                (Some(meta), Ok(theirs)) => same_file(meta, &theirs),
                _ => false,
            };
            same_file || same_place(path, &companion)
        })
    }
}

/// Two paths name the same place once links and `..` are resolved; a path that does not exist
/// yet is resolved through its directory.
fn same_place(a: &Path, b: &Path) -> bool {
    match (resolve(a), resolve(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(path) = std::fs::canonicalize(path) {
        return Some(path);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lab {
        _dir: tempfile::TempDir,
        data: PathBuf,
        root: PathBuf,
    }

    fn lab() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join(FILE_NAME), "the learner's runs").unwrap();
        let root = dir.path().to_path_buf();
        Lab {
            _dir: dir,
            data,
            root,
        }
    }

    fn refused(outputs: &Outputs, path: &Path) -> String {
        let err = outputs
            .create_file(path, "the report (--output)")
            .err()
            .unwrap_or_else(|| panic!("{} was not refused", path.display()));
        err.to_string()
    }

    #[test]
    #[cfg(unix)]
    fn the_store_is_refused_by_every_path_that_leads_to_it_even_with_force() {
        let lab = lab();
        let store = lab.data.join(FILE_NAME);
        let link = lab.root.join("link.md");
        std::os::unix::fs::symlink(&store, &link).unwrap();
        let hard = lab.root.join("hard.md");
        std::fs::hard_link(&store, &hard).unwrap();
        let dotted = lab.data.join("..").join("data").join(FILE_NAME);
        let journal = lab.data.join(format!("{FILE_NAME}-journal"));
        for force in [false, true] {
            let outputs = Outputs::new(&lab.data, force);
            for path in [&store, &link, &hard, &dotted, &journal] {
                let err = refused(&outputs, path);
                assert!(err.contains("progress store"), "{err}");
            }
        }
        assert_eq!(
            std::fs::read_to_string(&store).unwrap(),
            "the learner's runs"
        );
    }

    #[test]
    fn an_existing_file_is_replaced_only_with_force() {
        let lab = lab();
        let file = lab.root.join("report.md");
        std::fs::write(&file, "older").unwrap();
        let err = refused(&Outputs::new(&lab.data, false), &file);
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "older");
        Outputs::new(&lab.data, true)
            .write_file(&file, "the report (--output)", "new")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        let fresh = lab.root.join("fresh.md");
        Outputs::new(&lab.data, false)
            .write_file(&fresh, "the report (--output)", "made")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "made");
    }

    #[test]
    #[cfg(unix)]
    fn a_dangling_link_and_a_directory_are_refused() {
        let lab = lab();
        let dangling = lab.root.join("dangling.md");
        std::os::unix::fs::symlink(lab.root.join("nowhere"), &dangling).unwrap();
        assert!(refused(&Outputs::new(&lab.data, false), &dangling).contains("does not exist"));
        assert!(refused(&Outputs::new(&lab.data, true), &lab.root).contains("directory"));
    }

    #[test]
    fn a_kept_database_directory_is_new_or_empty_and_never_the_data_directory() {
        let lab = lab();
        let outputs = Outputs::new(&lab.data, false);
        let what = "the lab's databases";
        assert!(outputs.check_dir(&lab.root.join("new"), what).is_ok());
        let empty = lab.root.join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(outputs.check_dir(&empty, what).is_ok());
        std::fs::write(empty.join("crash.db"), "x").unwrap();
        let err = outputs.check_dir(&empty, what).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert!(
            Outputs::new(&lab.data, true)
                .check_dir(&empty, what)
                .is_ok()
        );
        let err = Outputs::new(&lab.data, true)
            .check_dir(&lab.data.join("."), what)
            .unwrap_err()
            .to_string();
        assert!(err.contains("data directory"), "{err}");
        let file = lab.data.join(FILE_NAME);
        assert!(outputs.check_dir(&file, what).is_err());
    }
}
