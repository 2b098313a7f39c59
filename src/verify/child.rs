//! A learner's process: started with the command the learner gave, fed lines on its stdin, heard
//! on its stdout by a thread of its own, its stderr's last lines kept for the report, and killed
//! with SIGKILL when the schedule says so.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::verify::wire::{self, LineError};

/// How many of a process's last stderr lines are kept, and how long each may be.
const TAIL_LINES: usize = 12;
const TAIL_WIDTH: usize = 300;

/// What a process's stdout thread reports.
#[derive(Debug)]
pub enum Heard {
    /// Line `number` (from 1) of the process's output.
    Line {
        node: usize,
        incarnation: u32,
        number: u64,
        bytes: Vec<u8>,
    },
    /// A line that could not even be read as one.
    Bad {
        node: usize,
        incarnation: u32,
        number: u64,
        error: LineError,
    },
    /// The process closed its stdout: it exited, or was killed.
    Closed { node: usize, incarnation: u32 },
}

/// The last lines a process wrote on stderr.
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: &str) {
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(wire::clip(line.trim_end(), TAIL_WIDTH));
    }

    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// A running process of one node.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Proc {
    /// Starts `command` for node `node`'s incarnation `incarnation`; its lines go to `heard`.
    pub fn start(
        command: &[OsString],
        node: usize,
        incarnation: u32,
        heard: Sender<Heard>,
        tail: Tail,
    ) -> std::io::Result<Proc> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| std::io::Error::other("no command to run"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let stdin = child.stdin.take();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || listen(stdout, node, incarnation, &heard));
        }
        if let Some(stderr) = stderr {
            std::thread::spawn(move || keep_tail(stderr, &tail));
        }
        Ok(Proc { child, stdin })
    }

    /// Writes one line to the process. A process that no longer reads has died or is about to,
    /// and its closed stdout says so; the write error itself tells nothing more.
    pub fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let ok = stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.write_all(b"\n"))
                .and_then(|()| stdin.flush());
            if ok.is_err() {
                self.stdin = None;
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Closes stdin, which tells the process the run is over, and waits up to `grace` for it to
    /// exit before killing it.
    pub fn finish(mut self, grace: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        let until = Instant::now() + grace;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= until {
                self.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A process msgwork lets go of must not outlive the run.
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn listen(stdout: impl Read, node: usize, incarnation: u32, heard: &Sender<Heard>) {
    let mut input = BufReader::new(stdout);
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        number += 1;
        let sent = match wire::read_line(&mut input, &mut buf) {
            Ok(Some(Ok(()))) => heard.send(Heard::Line {
                node,
                incarnation,
                number,
                bytes: std::mem::take(&mut buf),
            }),
            Ok(Some(Err(error))) => {
                let _ = heard.send(Heard::Bad {
                    node,
                    incarnation,
                    number,
                    error,
                });
                return;
            }
            Ok(None) | Err(_) => {
                let _ = heard.send(Heard::Closed { node, incarnation });
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn keep_tail(stderr: impl Read, tail: &Tail) {
    let mut input = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match input.by_ref().take(64 * 1024).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => tail.push(&String::from_utf8_lossy(&buf)),
        }
    }
}
