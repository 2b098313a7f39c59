//! The pack walk against loops, links out of the pack, special files and files that are not text.

use std::path::Path;

use super::*;

const ITEM: &str = "format_version = 1\nid = \"X1\"\n";

fn pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("drills")).unwrap();
    std::fs::write(dir.path().join("drills/x1.toml"), ITEM).unwrap();
    dir
}

fn names(files: &PackFiles) -> Vec<String> {
    let tail = |n: &String| {
        Path::new(n)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    files.files.iter().map(|(n, _)| tail(n)).collect()
}

fn kinds(files: &PackFiles) -> Vec<ProblemKind> {
    files.problems.iter().map(|p| p.kind).collect()
}

#[test]
fn a_folder_that_is_not_a_pack_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_dir(&dir.path().join("missing")).unwrap_err();
    assert_eq!(err.problems[0].kind, ProblemKind::NotAPack);
    let err = read_dir(dir.path()).unwrap_err();
    assert!(err.problems[0].message.contains("no .toml"), "{err}");
}

#[test]
fn a_file_that_is_not_text_is_listed_and_the_rest_are_read() {
    let dir = pack();
    std::fs::write(dir.path().join("bin.toml"), b"\x00\x01").unwrap();
    std::fs::write(dir.path().join("latin1.toml"), b"id = \"caf\xe9\"").unwrap();
    let files = read_dir(dir.path()).unwrap();
    assert_eq!(names(&files), ["x1.toml"]);
    assert_eq!(kinds(&files), [ProblemKind::NotText, ProblemKind::NotText]);
}

#[cfg(unix)]
mod links {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn links_round_a_loop_visit_each_folder_once() {
        let dir = pack();
        symlink(".", dir.path().join("a")).unwrap();
        symlink(".", dir.path().join("drills/b")).unwrap();
        symlink("..", dir.path().join("drills/up")).unwrap();
        symlink("self", dir.path().join("self")).unwrap();
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(names(&files), ["x1.toml"]);
        assert_eq!(kinds(&files), [ProblemKind::Link], "{:?}", files.problems);
        assert!(files.problems[0].file.ends_with("self"));
    }

    #[test]
    fn links_out_of_the_pack_are_listed_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.toml"), ITEM).unwrap();
        let dir = pack();
        symlink(outside.path(), dir.path().join("elsewhere")).unwrap();
        symlink(
            outside.path().join("secret.toml"),
            dir.path().join("s.toml"),
        )
        .unwrap();
        symlink("/dev/zero", dir.path().join("zero.toml")).unwrap();
        // A link out of the pack to something that is not content is none of the pack's business.
        std::fs::write(outside.path().join("notes.txt"), "notes").unwrap();
        symlink(outside.path().join("notes.txt"), dir.path().join("NOTES")).unwrap();
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(names(&files), ["x1.toml"]);
        assert_eq!(
            kinds(&files),
            [ProblemKind::Link; 3],
            "{:?}",
            files.problems
        );
        assert!(
            files
                .problems
                .iter()
                .all(|p| p.message.contains("out of the pack"))
        );
    }

    #[test]
    fn a_link_inside_the_pack_is_read_once_under_the_files_own_name() {
        let dir = pack();
        symlink("drills/x1.toml", dir.path().join("a-link.toml")).unwrap();
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(names(&files), ["x1.toml"]);
        assert!(files.problems.is_empty());
    }

    #[test]
    fn a_dangling_link_is_one_problem_among_the_rest() {
        let dir = pack();
        symlink("gone.toml", dir.path().join("dangling.toml")).unwrap();
        std::fs::write(dir.path().join("bin.toml"), b"\x00").unwrap();
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(names(&files), ["x1.toml"]);
        let mut found = kinds(&files);
        found.sort();
        assert_eq!(found, [ProblemKind::Link, ProblemKind::NotText]);
    }

    #[test]
    fn a_named_pipe_is_listed_without_being_opened() {
        let dir = pack();
        let fifo = dir.path().join("x.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            return;
        }
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(kinds(&files), [ProblemKind::SpecialFile]);
        assert!(files.problems[0].message.contains("named pipe"));
    }
}
