//! An instructor's pack on disk: every `.toml` file under a folder, each real file read once and
//! within bounds, with whatever cannot be read listed as a problem rather than stopping the check.

use std::collections::HashSet;
use std::path::Path;

use super::problem::{PackError, Problem, ProblemKind};
use super::walk::walk;
use crate::userfile::{self, Limit, Why};

/// A content file is a few KiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Content files read at most.
pub const MAX_FILES: usize = 2_000;
/// All of a pack's text read at most.
pub const MAX_PACK_BYTES: usize = 32 * 1024 * 1024;

/// A pack's files as read, `(name, text)` sorted by name, and the problems met reading them.
#[derive(Debug, Default)]
pub struct PackFiles {
    pub files: Vec<(String, String)>,
    pub problems: Vec<Problem>,
}

/// Reads every `.toml` file under `dir`. Fails only when `dir` is not a pack at all; a file that
/// cannot be read is one problem in the result, and the rest are still read.
pub fn read_dir(dir: &Path) -> Result<PackFiles, PackError> {
    let walked = walk(dir)?;
    let mut pack = PackFiles {
        files: Vec::new(),
        problems: walked.problems,
    };
    // One read per real file, under the name it has where it stands rather than a link's.
    let mut found = walked.found;
    found.sort_by(|a, b| (a.via_link, &a.shown).cmp(&(b.via_link, &b.shown)));
    let mut seen = HashSet::new();
    found.retain(|f| seen.insert(f.real.clone()));
    found.sort_by(|a, b| a.shown.cmp(&b.shown));
    if found.is_empty() && pack.problems.is_empty() {
        return Err(PackError {
            problems: vec![Problem::about(
                dir.display().to_string(),
                ProblemKind::NotAPack,
                "it holds no .toml content files".to_string(),
                "a drill is one TOML file; see docs/content-format.md",
            )],
        });
    }
    let limit = Limit {
        max_bytes: MAX_FILE_BYTES,
        what: "a content file",
        expect: "a TOML file",
    };
    let mut total = 0;
    for (n, file) in found.iter().enumerate() {
        let shown = file.shown.display().to_string();
        if n == MAX_FILES || total > MAX_PACK_BYTES {
            pack.problems.push(Problem::about(
                dir.display().to_string(),
                ProblemKind::TooLarge,
                format!(
                    "the pack is over its limit ({MAX_FILES} files or {} MiB of text); {} file(s) were not read",
                    MAX_PACK_BYTES >> 20,
                    found.len() - n
                ),
                "check that this is the pack's folder, or split the pack",
            ));
            break;
        }
        match userfile::read_named(&file.real, &shown, &limit) {
            Ok(text) => {
                total += text.len();
                pack.files.push((shown, text));
            }
            Err(err) => pack.problems.push(refused(shown, &err.why)),
        }
    }
    Ok(pack)
}

/// A content file that was not read, as a problem with its fix.
fn refused(file: String, why: &Why) -> Problem {
    let (kind, fix) = match why {
        Why::Unreadable(_) => (ProblemKind::Unreadable, "check its permissions"),
        Why::Directory | Why::Special(_) => (
            ProblemKind::SpecialFile,
            "remove it from the pack: content files are regular TOML files",
        ),
        Why::TooLarge { .. } => (
            ProblemKind::TooLarge,
            "a content file is a few KiB: split it, or move it out of the pack",
        ),
        Why::Binary(_) => (
            ProblemKind::NotText,
            "save it as UTF-8 text, or move it out of the pack",
        ),
    };
    Problem::about(file, kind, why.said(), fix)
}

#[cfg(test)]
mod tests;
