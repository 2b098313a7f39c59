//! Every file the user names is read bounded and never waited on, and a pack's walk stays in the
//! pack: one test per class of hostile input, each with a time bound.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest any of these inputs may take to be refused or accepted.
pub const BOUND: Duration = Duration::from_secs(10);

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub home: tempfile::TempDir,
}

impl Ran {
    /// Exit 2 with one `error:` line that mentions `what`.
    #[track_caller]
    pub fn refused(&self, what: &str) -> &Self {
        assert_eq!(
            self.code, 2,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        let line = self.stderr.trim_end();
        assert!(line.starts_with("error: "), "{line}");
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.contains(what), "'{what}' not in: {line}");
        self
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

/// Runs msgwork with a fresh data directory, `stdin` on its standard input, and kills it (failing
/// the test) if it has not finished within [`BOUND`].
pub fn run<S: AsRef<OsStr>>(args: &[S], stdin: Stdio) -> Ran {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgwork"))
        .args(args)
        .env("MSGWORK_HOME", home.path())
        .env("NO_COLOR", "1")
        .env_remove("MSGWORK_DB")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("msgwork starts");
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let drain = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = from.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let (out, err) = (drain(Box::new(out)), drain(Box::new(err)));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "msgwork {:?} took over {BOUND:?}",
                args.iter().map(AsRef::as_ref).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let ran = Ran {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        home,
    };
    assert!(!ran.stderr.contains("panicked"), "panic:\n{}", ran.stderr);
    ran
}

fn msgwork<S: AsRef<OsStr>>(args: &[S]) -> Ran {
    run(args, Stdio::null())
}

/// Runs msgwork with `input` on standard input.
fn piped<S: AsRef<OsStr>>(args: &[S], input: &[u8]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stdin");
    std::fs::write(&path, input).unwrap();
    run(args, Stdio::from(std::fs::File::open(path).unwrap()))
}

fn os(parts: &[&dyn AsRef<OsStr>]) -> Vec<OsString> {
    parts.iter().map(|p| p.as_ref().to_os_string()).collect()
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A copy of the instructor pack fixture: one valid drill item.
fn pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("tests/fixtures/instructor-pack/i1-dlq-alerting.toml");
    std::fs::copy(from, dir.path().join("i1.toml")).unwrap();
    dir
}

fn mkfifo(path: &Path) -> bool {
    Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

fn problems(ran: &Ran) -> Vec<(String, String)> {
    let v = ran.json();
    assert_eq!(v["schema_version"], 1);
    let mut out: Vec<(String, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let file = p["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_string_lossy();
            (name.into_owned(), p["kind"].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

const GOOD_ANSWERS: &str = r#"{"retrieval": {"R1": "a queue gives each message to one consumer"}}"#;

#[test]
fn unbounded_answers_files_are_refused_before_anything_is_stored() {
    msgwork(&["drill", "--answers", "/dev/zero"]).refused("it is a device, not a regular file");
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let ran = msgwork(&os(&[&"drill", &"--answers", &big]));
    ran.refused("it is 50 MiB, over the 1 MiB limit for an answers file");
    assert!(!ran.home.path().join("progress.db").exists());
    let zero = std::fs::File::open("/dev/zero").unwrap();
    run(&["drill", "--answers", "-"], Stdio::from(zero)).refused("standard input");
    let long = "x".repeat(20_000);
    let text = format!(r#"{{"retrieval": {{"R1": "{long}"}}}}"#);
    piped(&["drill", "--answers", "-"], text.as_bytes()).refused("the answer to retrieval R1");
}

#[test]
fn answers_come_from_standard_input_with_a_dash() {
    let ran = piped(
        &["drill", "--answers", "-", "--json"],
        GOOD_ANSWERS.as_bytes(),
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.json()["items"][0]["id"], "R1");
    let ran = piped(&["drill", "--answers", "-"], b"{\"retrieval\": }");
    ran.refused("standard input:1:");
}

#[test]
fn a_key_given_twice_in_an_answers_file_names_both_lines() {
    let text = "{\n  \"retrieval\": {\n    \"R1\": \"one\",\n    \"R2\": \"two\",\n    \"r1\": \"three\"\n  }\n}\n";
    piped(&["drill", "--answers", "-"], text.as_bytes())
        .refused("standard input:5:5: \"r1\" appears twice in one object (first at line 3)");
    let text = "{\"retrieval\": {\"R1\": \"x\"},\n \"retrieval\": {\"R2\": \"y\"}}";
    piped(&["drill", "--answers", "-"], text.as_bytes()).refused("(first at line 1)");
}

#[cfg(unix)]
#[test]
fn a_pack_with_links_round_a_loop_is_read_once() {
    use std::os::unix::fs::symlink;
    let dir = pack();
    symlink(".", dir.path().join("a")).unwrap();
    symlink(".", dir.path().join("b")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    symlink("..", dir.path().join("sub/up")).unwrap();
    let p = dir.path();
    let ran = msgwork(&os(&[&"content", &"check", &p, &"--json"]));
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(ran.json()["counts"]["items"], 1);
    let ran = msgwork(&os(&[
        &"drill",
        &"--list",
        &"--no-builtin",
        &"--content",
        &p,
        &"--json",
    ]));
    assert_eq!(ran.json()["items"].as_array().unwrap().len(), 1);
    // A link to itself is one problem, not forty readings of the pack.
    symlink("self", dir.path().join("self")).unwrap();
    let ran = msgwork(&os(&[&"content", &"check", &p, &"--json"]));
    assert_eq!(ran.code, 1);
    assert_eq!(problems(&ran), [("self".to_string(), "link".to_string())]);
}

#[cfg(unix)]
#[test]
fn links_out_of_a_pack_are_listed_and_not_followed() {
    use std::os::unix::fs::symlink;
    let dir = pack();
    symlink("/etc", dir.path().join("etc")).unwrap();
    symlink("/dev/zero", dir.path().join("zero.toml")).unwrap();
    let outside = pack();
    symlink(outside.path().join("i1.toml"), dir.path().join("copy.toml")).unwrap();
    let ran = msgwork(&os(&[&"content", &"check", &dir.path(), &"--json"]));
    assert_eq!(ran.code, 1);
    let link = || "link".to_string();
    assert_eq!(
        problems(&ran),
        [
            ("copy.toml".into(), link()),
            ("etc".into(), link()),
            ("zero.toml".into(), link())
        ]
    );
    let ran = msgwork(&os(&[&"drill", &"--list", &"--content", &dir.path()]));
    ran.refused("out of the pack");
}

#[cfg(unix)]
#[test]
fn special_files_in_a_pack_are_listed_without_being_opened() {
    let dir = pack();
    if !mkfifo(&dir.path().join("x.toml")) {
        return;
    }
    let ran = msgwork(&os(&[&"content", &"check", &dir.path(), &"--json"]));
    assert_eq!(ran.code, 1);
    assert_eq!(problems(&ran), [("x.toml".into(), "special-file".into())]);
    msgwork(&os(&[&"drill", &"--list", &"--content", &dir.path()])).refused("named pipe (FIFO)");
}

#[cfg(unix)]
#[test]
fn dangling_links_and_binary_files_are_listed_with_every_other_problem() {
    use std::os::unix::fs::symlink;
    let dir = pack();
    symlink("gone.toml", dir.path().join("dangling.toml")).unwrap();
    std::fs::write(dir.path().join("bin.toml"), [0x89, b'P', b'N', b'G', 0, 1]).unwrap();
    std::fs::write(dir.path().join("latin1.toml"), b"title = \"caf\xe9\"").unwrap();
    std::fs::write(
        dir.path().join("syntax.toml"),
        "format_version = 1\nid = \"",
    )
    .unwrap();
    let ran = msgwork(&os(&[&"content", &"check", &dir.path(), &"--json"]));
    assert_eq!(ran.code, 1);
    let found = problems(&ran);
    assert_eq!(
        found,
        [
            ("bin.toml".into(), "not-text".into()),
            ("dangling.toml".into(), "link".into()),
            ("latin1.toml".into(), "not-text".into()),
            ("syntax.toml".into(), "syntax".into()),
        ]
    );
    let human = msgwork(&os(&[&"content", &"check", &dir.path()]));
    assert!(
        human.stdout.contains("4 problem(s) in 4 file(s)"),
        "{}",
        human.stdout
    );
}

#[test]
fn every_unknown_key_in_a_content_file_is_reported() {
    let dir = pack();
    let text = "format_version = 1\nid = \"U1\"\nsection = \"retrieval\"\ntitle = \"t\"\n\
                promt = \"p\"\nmodel_answer = \"m\"\ncolour = \"red\"\n\n[[concepts]]\n\
                id = \"u1\"\nsays = \"s\"\nmatch = [\"x\"]\nwieght = 2\n";
    std::fs::write(dir.path().join("u1.toml"), text).unwrap();
    let ran = msgwork(&os(&[&"content", &"check", &dir.path(), &"--json"]));
    assert_eq!(ran.code, 1);
    let v = ran.json();
    let said: Vec<(u64, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let lines: Vec<u64> = said.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [1, 5, 7, 13], "{said:?}");
    assert!(said[0].1.contains("missing field `prompt`"), "{said:?}");
    for (at, key) in [(1, "promt"), (2, "colour"), (3, "wieght")] {
        assert!(
            said[at].1.contains(&format!("unknown field `{key}`")),
            "{said:?}"
        );
    }
    let fixes: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["fix"].as_str().unwrap())
        .collect();
    assert!(fixes[1].contains("did you mean `prompt`"), "{fixes:?}");
    assert!(fixes[3].contains("did you mean `weight`"), "{fixes:?}");
}

#[cfg(unix)]
#[test]
fn named_pipes_and_devices_are_refused_at_once_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("event.json");
    if !mkfifo(&fifo) {
        return;
    }
    let started = Instant::now();
    msgwork(&os(&[&"rewrite-event", &fifo])).refused("named pipe (FIFO)");
    msgwork(&os(&[&"sketch", &"check", &fifo])).refused("named pipe (FIFO)");
    msgwork(&os(&[&"drill", &"--answers", &fifo])).refused("named pipe (FIFO)");
    let event = fixture("fixtures/events/order-placed.json");
    msgwork(&os(&[&"rewrite-event", &event, &"--source", &"/dev/zero"])).refused("a device");
    msgwork(&["sketch", "check", "/dev/zero"]).refused("a device");
    msgwork(&["evidence", "--writeup", "/dev/zero"]).refused("a device");
    msgwork(&os(&[&"evidence", &"--writeup", &fifo])).refused("named pipe (FIFO)");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_are_accepted_everywhere() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let odd = |name: &[u8]| dir.path().join(OsStr::from_bytes(name));
    let event = odd(b"ev\xff.json");
    std::fs::copy(fixture("fixtures/events/order-placed.json"), &event).unwrap();
    let ran = msgwork(&os(&[&"rewrite-event", &event, &"--json"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let sketch = odd(b"sk\xfe.sql");
    std::fs::copy(fixture("fixtures/sketches/good.sql"), &sketch).unwrap();
    let ran = msgwork(&os(&[&"sketch", &"check", &sketch, &"--json"]));
    assert!(ran.code == 0 || ran.code == 1, "{}", ran.stderr);
    let answers = odd(b"an\xfd.json");
    std::fs::write(&answers, GOOD_ANSWERS).unwrap();
    let ran = msgwork(&os(&[&"drill", &"--answers", &answers, &"--json"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let pack_dir = odd(b"pack\xfc");
    std::fs::create_dir(&pack_dir).unwrap();
    std::fs::write(pack_dir.join(OsStr::from_bytes(b"bad\xfb.toml")), "x = ").unwrap();
    let ran = msgwork(&os(&[&"content", &"check", &pack_dir, &"--json"]));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stdout.contains("bad\u{fffd}.toml"), "{}", ran.stdout);
    let writeup = odd(b"wr\xfa.md");
    std::fs::copy(fixture("tests/fixtures/writeup.md"), &writeup).unwrap();
    let ran = msgwork(&os(&[&"evidence", &"--writeup", &writeup, &"--json"]));
    assert!(ran.stdout.contains("\"writeup\""), "{}", ran.stderr);
    // A missing file with such a name is named, lossily, in the error.
    msgwork(&os(&[&"rewrite-event", &odd(b"gone\xff.json")])).refused("gone\u{fffd}.json");
}
