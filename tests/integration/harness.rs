//! A builder over the real `msgwork` binary, each test with its own data directory.

use std::path::Path;
use std::process::Command;

pub struct Msgwork {
    cmd: Command,
    home: tempfile::TempDir,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    args: String,
}

impl Msgwork {
    /// `msgwork ARGS…` with a fresh data directory, no colour and no terminal, and on SQLite
    /// and the in-process broker whatever `MSGWORK_DB` or `MSGWORK_BROKER` the developer has set: a
    /// test that wants a server says `--db` or `--broker`.
    pub fn new(args: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgwork"));
        cmd.args(args)
            .env("MSGWORK_HOME", home.path())
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("MSGWORK_DB")
            .env_remove("MSGWORK_BROKER");
        Msgwork { cmd, home }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Runs it from `dir`, to prove it needs nothing from the checkout.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Runs it, keeping the data directory alive for the returned handle.
    pub fn run(mut self) -> (Output, tempfile::TempDir) {
        let args = format!("{:?}", self.cmd.get_args().collect::<Vec<_>>());
        let out = self.cmd.output().expect("msgwork runs");
        (
            Output {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                args,
            },
            self.home,
        )
    }

    pub fn output(self) -> Output {
        self.run().0
    }

    /// Starts it without waiting, output discarded, keeping the data directory alive.
    pub fn spawn(mut self) -> (std::process::Child, tempfile::TempDir) {
        let child = self
            .cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("msgwork starts");
        (child, self.home)
    }
}

impl Output {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "msgwork {} exited {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        self.expect_code(0)
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// A bad-input failure: exit 2, one `error:` line, no panic.
    #[track_caller]
    pub fn usage_error(&self, mentions: &str) -> &Self {
        self.expect_code(2);
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        let line = self.stderr.trim_end();
        assert!(line.starts_with("error: "), "stderr: {line}");
        assert_eq!(line.lines().count(), 1, "one line wanted, got:\n{line}");
        assert!(line.contains(mentions), "'{mentions}' not in: {line}");
        self
    }
}

pub fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The PostgreSQL server for the PostgreSQL tests, from `MSGWORK_TEST_DB`. Without one the test
/// says why it is skipped and returns `None`: `cargo test` works on a laptop with no server.
pub fn postgres(test: &str) -> Option<String> {
    match std::env::var("MSGWORK_TEST_DB") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Straight to stderr, not through eprintln!, which the test harness would swallow.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: no PostgreSQL server configured. Start one with \
                 `eval \"$(bash .ci/postgres)\"`, which sets MSGWORK_TEST_DB."
            );
            None
        }
    }
}
