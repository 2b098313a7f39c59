//! Walking a pack's folder for its `.toml` files: every real folder once, no symbolic link
//! followed out of the pack or round a loop, and every link that leads nowhere listed as a problem.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::problem::{PackError, Problem, ProblemKind};

/// Folders walked at most; a pack has a handful.
pub const MAX_DIRS: usize = 10_000;

/// A `.toml` file found: the path it is reported under, the file it really is, and whether it
/// was reached through a symbolic link.
pub struct Found {
    pub shown: PathBuf,
    pub real: PathBuf,
    pub via_link: bool,
}

/// What the walk found: the files to read, in no particular order, and the problems met.
pub struct Walked {
    pub found: Vec<Found>,
    pub problems: Vec<Problem>,
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

fn is_toml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

/// The system's reason, without Rust's "(os error N)" suffix.
fn reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

/// Walks `dir`. Fails only when `dir` is not a folder that can be read; anything wrong inside
/// it is a problem in the result.
pub fn walk(dir: &Path) -> Result<Walked, PackError> {
    let not_a_pack = |message: String| PackError {
        problems: vec![Problem::about(
            name(dir),
            ProblemKind::NotAPack,
            message,
            "give the folder that holds the pack's .toml files",
        )],
    };
    let root = std::fs::canonicalize(dir)
        .map_err(|e| not_a_pack(format!("cannot read it ({})", reason(&e))))?;
    if !root.is_dir() {
        return Err(not_a_pack("it is not a folder".to_string()));
    }
    let mut walked = Walked {
        found: Vec::new(),
        problems: Vec::new(),
    };
    let mut seen: HashSet<PathBuf> = HashSet::from([root.clone()]);
    let mut stack = vec![(dir.to_path_buf(), root.clone())];
    while let Some((shown, real)) = stack.pop() {
        let entries = match std::fs::read_dir(&real) {
            Ok(entries) => entries,
            Err(e) if real == root => {
                return Err(not_a_pack(format!("cannot read it ({})", reason(&e))));
            }
            Err(e) => {
                walked.problems.push(unreadable(&shown, &e));
                continue;
            }
        };
        let mut names: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for entry in names {
            let (shown, here) = (shown.join(&entry), real.join(&entry));
            let meta = match std::fs::symlink_metadata(&here) {
                Ok(meta) => meta,
                Err(e) => {
                    walked.problems.push(unreadable(&shown, &e));
                    continue;
                }
            };
            if meta.file_type().is_symlink() {
                link(&root, shown, &here, &mut walked);
            } else if meta.is_dir() {
                if seen.len() >= MAX_DIRS {
                    walked.problems.push(Problem::about(
                        name(dir),
                        ProblemKind::TooLarge,
                        format!(
                            "the pack has more than {MAX_DIRS} folders; the rest were not read"
                        ),
                        "check that this is the pack's folder",
                    ));
                    return Ok(walked);
                }
                if seen.insert(here.clone()) {
                    stack.push((shown, here));
                }
            } else if is_toml(&shown) {
                walked.found.push(Found {
                    shown,
                    real: here,
                    via_link: false,
                });
            }
        }
    }
    Ok(walked)
}

/// A symbolic link inside the pack. A link to a `.toml` file in the pack is read as that file; a
/// link to a folder in the pack is not followed, since the folder is walked where it stands; a
/// link out of the pack to a `.toml` file or a folder, and a link that leads nowhere, are problems.
fn link(root: &Path, shown: PathBuf, here: &Path, walked: &mut Walked) {
    let target = match std::fs::canonicalize(here) {
        Ok(target) => target,
        Err(e) => {
            let points_to = std::fs::read_link(here)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            let message = if e.kind() == std::io::ErrorKind::NotFound {
                format!("it is a symbolic link to {points_to}, which does not exist")
            } else {
                format!(
                    "it is a symbolic link to {points_to} that cannot be followed ({})",
                    reason(&e)
                )
            };
            walked.problems.push(Problem::about(
                name(&shown),
                ProblemKind::Link,
                message,
                "remove the link, or point it at a file inside the pack",
            ));
            return;
        }
    };
    let is_dir = target.is_dir();
    if !target.starts_with(root) {
        if is_dir || is_toml(&shown) {
            walked.problems.push(Problem::about(
                name(&shown),
                ProblemKind::Link,
                format!(
                    "it is a symbolic link out of the pack, to {}; it is not followed",
                    target.display()
                ),
                "copy what it links to into the pack, or check that folder as a pack of its own",
            ));
        }
        return;
    }
    if !is_dir && is_toml(&shown) {
        walked.found.push(Found {
            shown,
            real: target,
            via_link: true,
        });
    }
}

fn unreadable(shown: &Path, err: &std::io::Error) -> Problem {
    Problem::about(
        name(shown),
        ProblemKind::Unreadable,
        format!("cannot read it ({})", reason(err)),
        "check its permissions",
    )
}
