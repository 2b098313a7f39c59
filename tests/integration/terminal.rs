//! Real-terminal sessions: msgwork drill in a pty, answered key by key, interrupted with Ctrl-C
//! and resumed; a new learner's path from `msgwork next` through one item, its pause and Esc,
//! back to `next`; Esc at every kind of prompt. Proves the wiring the scripted session tests
//! stand in for.

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
    p.exp_string("Enter: next item").unwrap(); // the pause
    keys(&mut p, "\r");
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
    p.exp_string("Enter: finish").unwrap(); // the pause after the last item
    keys(&mut p, "\r");
    p.exp_string("Total:").unwrap();
    p.exp_eof().unwrap();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    assert_eq!(store.answers_to("R3").unwrap().len(), 1);
    assert!(store.unfinished_session().unwrap().is_none());
}

/// `msgwork ARGS…` in a pty, with this data directory.
fn msgwork(home: &std::path::Path, args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"));
    cmd.args(["--data-dir", &path_str(home)])
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    spawn_command(cmd, Some(15_000)).expect("msgwork starts in a pty")
}

/// The learner's first steps: `next` suggests a drill; one item answered, its feedback, the
/// pause, "I was right", Esc; the session stops with its summary, `progress` agrees with it, and
/// `next` now suggests carrying on.
#[test]
fn a_new_learner_goes_from_next_through_one_item_and_esc_back_to_next() {
    let home = tempfile::tempdir().unwrap();
    let mut p = msgwork(home.path(), &["next"]);
    let text = p.exp_eof().unwrap();
    let suggested = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("msgwork ") && l.contains(" drill"))
        .unwrap_or_else(|| panic!("no drill suggested:\n{text}"))
        .to_string();
    let args: Vec<&str> = suggested.split_whitespace().skip(1).collect();
    assert_eq!(&args[..2], ["--data-dir", &path_str(home.path())]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_msgwork"));
    cmd.args(&args).env("NO_COLOR", "1").env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(15_000)).expect("msgwork starts in a pty");
    p.exp_string("Esc or Ctrl-C stops").unwrap();
    p.exp_string("Queue, topic or request-reply?").unwrap();
    keys(&mut p, "\r"); // queue
    p.exp_string("Notification, event-carried state transfer")
        .unwrap();
    keys(&mut p, "\r"); // notification
    p.exp_string("Is a transactional outbox required?").unwrap();
    keys(&mut p, "\x1b[B\r"); // no
    p.exp_string("Defend your three choices").unwrap();
    p.send_line("because it is simple").unwrap();
    p.exp_string("3/4").unwrap(); // the choices right, the reason not
    p.exp_string("reason: incorrect").unwrap();
    // The pause: nothing moves on until a key is pressed.
    p.exp_string("Esc: stop").unwrap();
    keys(&mut p, "o");
    p.exp_string("Expected:").unwrap(); // the model answer before the learner's own verdict
    p.exp_string("your own verdict?").unwrap();
    keys(&mut p, "\r"); // I was right: count it correct
    p.exp_string("Esc: stop").unwrap(); // the pause again, without the overrule
    keys(&mut p, "\x1b");
    p.exp_string("4/4").unwrap(); // the summary counts the learner's verdict
    p.exp_string("Stopped.").unwrap();
    p.exp_string("drill --resume").unwrap();
    p.exp_eof().unwrap();

    let progress =
        crate::harness::Msgwork::new(&["--data-dir", &path_str(home.path()), "progress", "--json"])
            .output();
    let v = progress.success().json();
    let scenarios = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "scenarios")
        .unwrap();
    assert_eq!(
        (
            scenarios["answered"].as_u64(),
            scenarios["mastered"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let mut p = msgwork(home.path(), &["next"]);
    p.exp_string("Continue the drill session you stopped")
        .unwrap();
    p.exp_string(&format!(
        "msgwork --data-dir {} drill --resume",
        path_str(home.path())
    ))
    .unwrap();
    p.exp_eof().unwrap();
}

/// Esc stops the session at a choice, at free text and in the overrule menu, as the banner says,
/// keeping what was answered.
#[test]
fn esc_stops_the_session_at_every_kind_of_prompt() {
    let home = tempfile::tempdir().unwrap();
    let mut p = drill(home.path(), &["--only", "A"]);
    p.exp_string("Queue, topic or request-reply?").unwrap();
    keys(&mut p, "\x1b");
    p.exp_string("Stopped.").unwrap();
    p.exp_eof().unwrap();

    let mut p = drill(home.path(), &["--only", "R3"]);
    p.exp_string("Esc to stop").unwrap();
    keys(&mut p, "half an answ\x7f\x7f\x7f\x7f\x1b");
    p.exp_string("Stopped.").unwrap();
    p.exp_eof().unwrap();

    let mut p = drill(home.path(), &["--only", "R3"]);
    p.exp_string("Esc to stop").unwrap();
    p.send_line("no idea").unwrap();
    p.exp_string("Esc: stop").unwrap();
    keys(&mut p, "o");
    p.exp_string("your own verdict?").unwrap();
    keys(&mut p, "\x1b");
    p.exp_string("Stopped. 1 answer(s) saved").unwrap();
    p.exp_eof().unwrap();
    let store = msgwork::store::Store::open(home.path()).unwrap();
    let r3 = store.answers_to("R3").unwrap();
    assert_eq!(
        (r3.len(), r3[0].1.as_deref()),
        (1, None),
        "Esc overruled nothing"
    );
    drop(store);

    // With --no-pause nothing waits: the answer, its feedback, then the summary.
    let mut p = drill(home.path(), &["--only", "R3", "--no-pause"]);
    p.exp_string("Esc to stop").unwrap();
    p.send_line("no idea").unwrap();
    let shown = p.exp_string("Total:").unwrap();
    assert!(!shown.contains("Esc: stop"), "{shown}");
    p.exp_eof().unwrap();
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

/// On a 40-column terminal the feedback, the details and the pause wrap at word boundaries:
/// no line is wider than the terminal, and every word of the feedback is there, whole.
#[test]
fn feedback_wraps_at_word_boundaries_to_a_narrow_terminal() {
    let home = tempfile::tempdir().unwrap();
    let answer = "a queue broadcasts every message to all of its consumers";
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "stty cols 40 rows 50 && exec \"$0\" --data-dir \"$1\" drill --only R1",
        env!("CARGO_BIN_EXE_msgwork"),
        &path_str(home.path()),
    ])
    .env("NO_COLOR", "1")
    .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(15_000)).expect("msgwork starts in a pty");
    p.exp_string("Esc to stop").unwrap();
    p.send_line(answer).unwrap();
    p.exp_string("incorrect  0/1").unwrap();
    let feedback = p.exp_string("Esc: stop").unwrap();
    keys(&mut p, "d");
    let details = p.exp_string("Esc: stop").unwrap();
    keys(&mut p, "\x1b");
    p.exp_string("Stopped.").unwrap();
    p.exp_eof().unwrap();

    for shown in [&feedback, &details] {
        for line in shown.lines() {
            let line = line.trim_end_matches('\r');
            assert!(
                line.chars().count() <= 40,
                "wider than 40: {line:?}\n{shown}"
            );
        }
    }
    let pack = msgwork::content::builtin().unwrap();
    let item = pack.items.iter().find(|i| i.id == "R1").unwrap();
    let graded = msgwork::grade::item::grade_item(item, &pack.misconceptions, answer);
    let words = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let shown = words(&feedback);
    let said = words(&graded.feedback);
    assert!(
        shown.windows(said.len()).any(|w| w == said.as_slice()),
        "the feedback's words, whole and in order, are not in:\n{feedback}"
    );
    assert!(words(&details).len() > said.len(), "{details}");
}
