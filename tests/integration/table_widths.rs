//! Tables with coloured cells, rendered in a real terminal with colour on: every row of a table
//! has the same display width once the colour codes are taken out.

use rexpect::session::spawn_command;

use msgwork::ui::strip_ansi;

use crate::harness::path_str;

/// The whole output of one command run in a pty, with colour left to the terminal.
fn in_a_terminal(home: &std::path::Path, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"));
    cmd.args(["--data-dir", &path_str(home)])
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("MSGWORK_DB")
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(120_000)).expect("msgwork starts in a pty");
    let raw = p.exp_eof().expect("the command finishes");
    // The pty reader hands back one char per byte: put the UTF-8 back together.
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Each table in `text` (a run of lines from a top border `┌` to a bottom border `└`), as its
/// lines with colour taken out.
fn tables(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in strip_ansi(text).lines() {
        let line = line.trim_end_matches('\r').to_string();
        if line.starts_with('┌') {
            current = Some(vec![line]);
        } else if let Some(table) = current.as_mut() {
            let bottom = line.starts_with('└');
            table.push(line);
            if bottom {
                found.extend(current.take());
            }
        }
    }
    found
}

/// Runs `args` in a terminal and checks that colour was on, that at least one table was drawn
/// with a coloured cell, and that every table's rows are equally wide.
fn rows_line_up(home: &std::path::Path, args: &[&str]) {
    let raw = in_a_terminal(home, args);
    assert!(
        raw.contains("\x1b["),
        "{args:?}: no colour in a terminal, so this test proves nothing:\n{raw}"
    );
    let tables = tables(&raw);
    assert!(!tables.is_empty(), "{args:?}: no table drawn:\n{raw}");
    for table in tables {
        let widths: Vec<usize> = table.iter().map(|l| l.chars().count()).collect();
        assert!(
            widths.iter().all(|w| *w == widths[0]),
            "{args:?}: rows of different widths {widths:?}:\n{}",
            table.join("\n")
        );
    }
}

#[test]
fn the_strip_and_the_table_finder_see_a_misaligned_table() {
    let coloured = "┌──┐\n│\x1b[1mab\x1b[0m│\n│abc│\n└──┘\n";
    let found = tables(coloured);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0][1], "│ab│");
    assert_ne!(found[0][1].chars().count(), found[0][2].chars().count());
}

#[test]
fn evidence_doctor_and_the_crash_points_keep_their_columns_in_colour() {
    let home = tempfile::tempdir().unwrap();
    rows_line_up(home.path(), &["evidence"]);
    rows_line_up(home.path(), &["doctor"]);
    rows_line_up(home.path(), &["simulate", "--list-crash-points"]);
    rows_line_up(home.path(), &["drill", "--list"]);
}

#[test]
fn the_rewrites_kept_off_table_keeps_its_columns_in_colour() {
    let home = tempfile::tempdir().unwrap();
    rows_line_up(home.path(), &["rewrite-event", "--example", "order-placed"]);
}

#[test]
fn lab_target_tables_keep_their_columns_in_colour() {
    let home = tempfile::tempdir().unwrap();
    rows_line_up(
        home.path(),
        &[
            "lab",
            "cdc",
            "--seed",
            "5",
            "--rate",
            "400",
            "--seconds",
            "0.5",
            "--interval",
            "100ms",
        ],
    );
    rows_line_up(
        home.path(),
        &[
            "lab",
            "cleanup",
            "--rows",
            "20k",
            "--batch",
            "3000",
            "--page-size",
            "4096",
            "--seed",
            "5",
        ],
    );
}
