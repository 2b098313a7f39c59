//! `msgwork sketch template`: a skeleton to fill in, never written over a learner's file, and
//! never a passing sketch as it stands.

use crate::harness::{Msgwork, path_str};

#[test]
fn the_template_is_written_once_and_does_not_pass_unfilled() {
    let dir = tempfile::tempdir().unwrap();
    let home = path_str(&dir.path().join("home"));
    let file = dir.path().join("mine.sql");
    let f = path_str(&file);
    let out = Msgwork::new(&["--data-dir", &home, "sketch", "template", "--output", &f])
        .current_dir(dir.path())
        .output();
    out.success();
    assert!(out.stderr.contains("sketch check"), "{}", out.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("TODO") && text.contains("CREATE TABLE bookings"));
    // Written once: a second run refuses, and the learner's edits stay.
    std::fs::write(&file, format!("{text}\n-- my work\n")).unwrap();
    let again = Msgwork::new(&["sketch", "template", "--output", &f]).output();
    again.usage_error("never writes over a sketch");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("-- my work")
    );
    // Unfilled, it is not a passing sketch.
    Msgwork::new(&["--data-dir", &home, "sketch", "check", &f])
        .output()
        .expect_code(1);
    // To standard output by default.
    let stdout = Msgwork::new(&["sketch", "template"]).output();
    assert_eq!(stdout.success().stdout, text);
}
