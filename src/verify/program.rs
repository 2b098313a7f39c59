//! The learner's program as files: the source files a verify command names, and those beside
//! them, read so a recorded run can show later whose code it judged.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Source files msgwork reads beside a named one: the kinds a kit or a learner writes.
const SOURCE: [&str; 9] = ["py", "rs", "js", "mjs", "ts", "go", "java", "rb", "toml"];
/// At most this many files, each at most this big, are kept.
const MAX_FILES: usize = 32;
const MAX_BYTES: u64 = 256 * 1024;

/// One source file of the program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The files a command names that exist, and the source files in their directories and in a
/// `src/` beside them, each once, at most [`MAX_FILES`].
pub fn paths(command: &[std::ffi::OsString]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for arg in command {
        let path = Path::new(arg);
        if !path.is_file() {
            continue;
        }
        paths.push(path.to_path_buf());
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for folder in [dir.to_path_buf(), dir.join("src")] {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| SOURCE.contains(&e))
                })
                .collect();
            found.sort();
            paths.extend(found);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    paths.retain(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())));
    paths.truncate(MAX_FILES);
    paths
}

/// The text of each of [`paths`]. Unreadable, binary or oversized files are left out, never an
/// error: the run goes on, and its record says less.
pub fn sources(command: &[std::ffi::OsString]) -> Vec<SourceFile> {
    paths(command)
        .into_iter()
        .filter_map(|path| {
            let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_BYTES);
            let bytes = small.then(|| std::fs::read(&path).ok()).flatten()?;
            Some(SourceFile {
                path: path.display().to_string(),
                text: String::from_utf8(bytes).ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_files_and_their_neighbours_are_read_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shop.py"), "print(1)\n").unwrap();
        std::fs::write(dir.path().join("lib.py"), "x = 2\n").unwrap();
        std::fs::write(dir.path().join("notes.db"), [0u8, 159, 146, 150]).unwrap();
        std::fs::write(
            dir.path().join("big.py"),
            vec![b'#'; MAX_BYTES as usize + 1],
        )
        .unwrap();
        let shop = dir.path().join("shop.py");
        let command = vec!["python3".into(), shop.clone().into_os_string()];
        let files = sources(&command);
        let names: Vec<&str> = files
            .iter()
            .map(|f| Path::new(&f.path).file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["shop.py", "lib.py"]);
        assert_eq!(files[0].text, "print(1)\n");
    }
}
