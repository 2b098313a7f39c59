//! One real-terminal session: msgwork drill in a pty, answered key by key, interrupted with
//! Ctrl-C, then resumed. Proves the wiring the scripted session tests stand in for.

use rexpect::session::spawn_command;

use crate::harness::path_str;

fn drill(home: &std::path::Path, args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"));
    cmd.args(["--data-dir", &path_str(home), "drill"])
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    spawn_command(cmd, Some(15_000)).expect("msgwork starts in a pty")
}

/// Types keys and makes sure they reach the program.
fn keys(p: &mut rexpect::session::PtySession, keys: &str) {
    p.send(keys).unwrap();
    p.flush().unwrap();
}

#[test]
fn a_drill_in_a_real_terminal_survives_ctrl_c_and_resumes() {
    let home = tempfile::tempdir().unwrap();
    let mut p = drill(home.path(), &["--only", "A", "--only", "R3"]);
    p.exp_string("Queue, topic or request-reply?").unwrap();
    keys(&mut p, "\r"); // queue, the first option
    p.exp_string("Notification, event-carried state transfer")
        .unwrap();
    keys(&mut p, "\r"); // notification
    p.exp_string("Is a transactional outbox required?").unwrap();
    keys(&mut p, "\x1b[B\r"); // down to "no"
    p.exp_string("Defend your three choices").unwrap();
    p.send_line(
        "one job per worker, the message holds the S3 key, and workers are idempotent by URL",
    )
    .unwrap();
    p.exp_string("/4").unwrap(); // the scenario's score, whatever the verdict
    p.exp_string("the dual-write bug?").unwrap();
    p.send_control('c').unwrap();
    // The data directory this session used travels with the suggestion.
    p.exp_string(&format!(
        "Continue with: msgwork --data-dir {} drill --resume",
        path_str(home.path())
    ))
    .unwrap();
    p.exp_eof().unwrap();

    // The answer to A survived the interruption.
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.answers_to("A").unwrap().len(), 1);
    assert!(store.answers_to("R3").unwrap().is_empty());
    drop(store);

    let mut p = drill(home.path(), &["--resume"]);
    p.exp_string("the dual-write bug?").unwrap();
    p.send_line("a db commit and a broker publish are two separate writes with no shared transaction, so a crash between them loses the event").unwrap();
    p.exp_string("Your own verdict").unwrap();
    keys(&mut p, "\r"); // agree
    p.exp_string("Total:").unwrap();
    p.exp_eof().unwrap();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.answers_to("R3").unwrap().len(), 1);
    assert!(store.unfinished_session().unwrap().is_none());
}

#[test]
fn the_rewrite_exercise_walks_through_each_step_then_shows_the_model() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"));
    cmd.args(["--data-dir", &path_str(home.path()), "rewrite-event"])
        .arg(format!(
            "{}/fixtures/events/order-placed.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg("--practice")
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(15_000)).expect("msgwork starts in a pty");
    p.exp_string("billing: which form?").unwrap();
    keys(&mut p, "\x1b[B\r"); // ECST
    p.exp_string("inventory: which form?").unwrap();
    keys(&mut p, "\x1b[B\r"); // ECST
    p.exp_string("fraud-review: which form?").unwrap();
    keys(&mut p, "\r"); // notification
    p.exp_string("space to mark").unwrap();
    keys(&mut p, "\r"); // mark nothing
    p.exp_string("missed payment.card_number").unwrap();
    p.exp_string("Write it now?").unwrap();
    keys(&mut p, "\x1b[B\r"); // skip to the model rewrite
    p.exp_string("Kept off the event").unwrap();
    p.exp_eof().unwrap();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let runs = store.runs("rewrite-practice").unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results["forms_right"], 3);
    assert_eq!(runs[0].results["sensitive_found"], 0);
}
