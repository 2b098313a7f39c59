//! Where the labs keep their SQLite files: a directory the learner chose, or a scratch directory
//! of the run's own under the data directory's `cache/`, removed when the run ends, by the
//! interrupt handler when it is stopped, and by the next msgwork to start when it was killed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use crate::sim::error::SimError;

/// Where scratch directories go when the command layer has named none, or it cannot be used.
static ROOT: OnceLock<PathBuf> = OnceLock::new();
/// The scratch directories this process is using now, for the interrupt handler to remove.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The file each scratch directory's owner holds locked for as long as it runs: once the lock is
/// free, the owner is gone, whether it exited, crashed or was killed with SIGKILL.
const OWNER_LOCK: &str = "msgwork-owner.lock";
/// How old a directory still being set up must be before it counts as abandoned.
const SETUP_GRACE: Duration = Duration::from_secs(600);

/// A scratch directory's name begins with this in the data directory's cache, and with
/// `msgwork-` before it in the system's temporary directory, then the owner's process id.
fn prefix(root: &Path) -> &'static str {
    if root == std::env::temp_dir() {
        "msgwork-lab-"
    } else {
        "lab-"
    }
}

/// Puts the labs' scratch directories under `root` (the data directory's `cache/`) from now
/// on; the first call wins. Without it, or when `root` cannot be created, they go to the
/// system's temporary directory.
pub fn use_scratch_root(root: PathBuf) {
    let _ = ROOT.set(root);
}

/// Removes the scratch directories under the scratch root and the system's temporary directory
/// whose owner is gone. Returns how many were removed.
pub fn sweep_stale() -> usize {
    let mut roots = vec![std::env::temp_dir()];
    roots.extend(ROOT.get().cloned());
    roots.iter().map(|root| sweep(root)).sum()
}

/// Removes every scratch directory this process is using: the process is about to exit.
pub fn remove_live() -> usize {
    let live = std::mem::take(&mut *live());
    live.iter().filter(|dir| remove(dir)).count()
}

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A scratch directory of this run: removed when dropped.
#[derive(Debug)]
pub struct LabDir {
    path: PathBuf,
    /// Held locked while the run lives; see [`OWNER_LOCK`].
    _owner: File,
}

impl LabDir {
    /// Makes a scratch directory under the scratch root, or in the system's temporary directory
    /// when that cannot be written (a read-only data directory).
    fn create() -> Result<LabDir, SimError> {
        let temp = std::env::temp_dir();
        if let Some(root) = ROOT.get()
            && let Ok(dir) = LabDir::create_in(root)
        {
            return Ok(dir);
        }
        LabDir::create_in(&temp).map_err(|cause| SimError::Dir { path: temp, cause })
    }

    /// Sets the directory up under a hidden name and renames it into place once its owner lock
    /// is held, so a sweep never sees a directory without a live owner.
    fn create_in(root: &Path) -> std::io::Result<LabDir> {
        std::fs::create_dir_all(root)?;
        let name = format!("{}{}-", prefix(root), std::process::id());
        let setup = tempfile::Builder::new()
            .prefix(&format!(".{name}"))
            .tempdir_in(root)?;
        let owner = File::create(setup.path().join(OWNER_LOCK))?;
        owner.lock()?;
        let hidden = setup.keep();
        let shown = hidden.file_name().unwrap_or_default().to_string_lossy();
        let path = root.join(shown.trim_start_matches('.'));
        if let Err(err) = std::fs::rename(&hidden, &path) {
            let _ = std::fs::remove_dir_all(&hidden);
            return Err(err);
        }
        live().push(path.clone());
        Ok(LabDir {
            path,
            _owner: owner,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LabDir {
    fn drop(&mut self) {
        live().retain(|dir| dir != &self.path);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes the abandoned scratch directories directly under `root`.
fn sweep(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let prefix = prefix(root);
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let name = name.strip_prefix('.').unwrap_or(&name);
            is_scratch_name(name, prefix)
                && entry.file_type().is_ok_and(|t| t.is_dir())
                && abandoned(&entry.path())
        })
        .filter(|entry| remove(&entry.path()))
        .count()
}

/// `PREFIX<pid>-…`: the name of a scratch directory, visible or still being set up.
fn is_scratch_name(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(pid, _)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a scratch directory's owner is gone: its lock can be taken. Without a lock file it
/// is still being set up, or was half removed, and counts only once it is old.
fn abandoned(dir: &Path) -> bool {
    match File::open(dir.join(OWNER_LOCK)) {
        Ok(lock) => lock.try_lock().is_ok(),
        Err(_) => older_than(dir, SETUP_GRACE),
    }
}

/// Removes a directory and everything in it, trying again a few times in case a child process
/// of the run was still writing into it.
fn remove(dir: &Path) -> bool {
    for _ in 0..3 {
        if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn older_than(path: &Path, age: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|elapsed| elapsed > age)
}

/// Where a lab keeps its SQLite files: `keep` when the user asked for it (created if need be),
/// otherwise a scratch directory that lives as long as the returned guard.
pub(crate) fn lab_dir(keep: Option<&Path>) -> Result<(Option<LabDir>, PathBuf), SimError> {
    match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|cause| SimError::Dir {
                path: dir.to_path_buf(),
                cause,
            })?;
            Ok((None, dir.to_path_buf()))
        }
        None => {
            let dir = LabDir::create()?;
            let path = dir.path().to_path_buf();
            Ok((Some(dir), path))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_directory_is_locked_while_it_lives_and_gone_after() {
        let root = tempfile::tempdir().unwrap();
        let dir = LabDir::create_in(root.path()).unwrap();
        let name = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!("lab-{}-", std::process::id())),
            "{name}"
        );
        assert!(live().contains(&dir.path().to_path_buf()));
        // Its owner is alive: a sweep leaves it.
        assert_eq!(sweep(root.path()), 0);
        assert!(dir.path().exists());
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
        assert!(!live().contains(&path));
    }

    #[test]
    fn a_sweep_removes_what_a_dead_owner_left_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let left = |name: &str, lock: bool| {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("outbox-orders.db"), vec![0u8; 1024]).unwrap();
            if lock {
                std::fs::write(dir.join(OWNER_LOCK), "").unwrap();
            }
            dir
        };
        // Unlocked lock files: their owners are gone.
        let dead = left("lab-999999-abc", true);
        let setting_up = left(".lab-999999-def", true);
        // Not msgwork's, or not yet old enough to judge.
        let foreign = left("lab-notes", true);
        let young = left(".lab-999999-ghi", false);
        let half_removed = left("lab-999999-jkl", false);
        let other = left("photos", true);
        let alive = LabDir::create_in(root.path()).unwrap();
        assert_eq!(sweep(root.path()), 2);
        assert!(!dead.exists() && !setting_up.exists());
        for kept in [&foreign, &young, &half_removed, &other] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert!(alive.path().exists());
    }
}
