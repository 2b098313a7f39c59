//! An instructor's pack on disk: every `.toml` file under a directory, read as text.

use std::path::{Path, PathBuf};

use super::problem::{PackError, Problem, ProblemKind};

/// Reads every `.toml` file under `dir` (sorted, recursively) as one pack.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, PackError> {
    let unreadable = |path: &Path, err: std::io::Error| PackError {
        problems: vec![Problem {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            kind: ProblemKind::Unreadable,
            message: format!("cannot read it: {err}"),
            fix: "check the path and its permissions".to_string(),
        }],
    };
    if !dir.is_dir() {
        return Err(unreadable(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let entries = std::fs::read_dir(&next).map_err(|e| unreadable(&next, e))?;
        for entry in entries {
            let path = entry.map_err(|e| unreadable(&next, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(unreadable(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "it holds no .toml content files (a drill is one TOML file; see docs/content-format.md)",
            ),
        ));
    }
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
        out.push((path.display().to_string(), text));
    }
    Ok(out)
}
