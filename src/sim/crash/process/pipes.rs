//! The pipes between a parent and its child processes, for every lab that runs its actors as
//! children (the crash lab's process mode and the broker's): the parent reads each child's lines
//! on a thread of its own, a child reads its parent's answers on one of its own, and whatever
//! ends a run, no child outlives it. Only the message types differ between labs.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::sim::crash::process::wire;
use crate::sim::error::{SimError, WireError};

/// How much of a child's stderr is kept for an error message.
const STDERR_KEPT: u64 = 4096;

/// What the parent hears from a child's pipes, tagged with the child's slot and incarnation so a
/// line from a child already replaced is told apart.
pub enum Event<U> {
    Line {
        slot: usize,
        incarnation: u32,
        line: Result<U, WireError>,
    },
    /// The child's output ended; what it wrote to stderr.
    Closed {
        slot: usize,
        incarnation: u32,
        stderr: String,
    },
}

/// A child the parent started, and the pipe that tells it what to do.
pub struct Running {
    pub child: Child,
    /// Closed to tell the child to stop.
    pub stdin: Option<ChildStdin>,
}

/// Starts `command` as `name`, the child in `slot` in its `incarnation`'th life, writes it
/// `spec`, and reads its output on a thread of its own into `events`. The child goes into
/// `running` as soon as it exists, so that whoever holds that kills it even when starting it
/// fails halfway.
pub fn start<'r, S, U>(
    mut command: Command,
    name: &str,
    (slot, incarnation): (usize, u32),
    spec: &S,
    events: &Sender<Event<U>>,
    running: &'r mut Option<Running>,
) -> Result<&'r mut Running, SimError>
where
    S: Serialize,
    U: DeserializeOwned + Send + 'static,
{
    let mut child = command.spawn().map_err(|cause| SimError::Child {
        actor: name.to_string(),
        problem: format!("could not be started: {cause}"),
    })?;
    let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let running = running.insert(Running { child, stdin: None });
    let (Some(mut stdin), Some(stdout), Some(stderr)) = pipes else {
        return Err(SimError::Internal("a child process came without its pipes"));
    };
    // A child that cannot take its instructions has died, and its closed output says how.
    let _ = wire::write(&mut stdin, spec);
    running.stdin = Some(stdin);
    let events = events.clone();
    std::thread::Builder::new()
        .name(format!("{name}-pipe"))
        .spawn(move || listen(slot, incarnation, stdout, stderr, &events))
        .map_err(|cause| SimError::Child {
            actor: name.to_string(),
            problem: format!("cannot be listened to: {cause}"),
        })?;
    Ok(running)
}

/// Reads one child's lines in order until its output ends or a line is not the protocol, then
/// what it wrote to stderr; everything goes to `events`.
pub fn listen<U: DeserializeOwned>(
    slot: usize,
    incarnation: u32,
    stdout: ChildStdout,
    stderr: ChildStderr,
    events: &Sender<Event<U>>,
) {
    let mut input = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        let line = match wire::read::<U>(&mut input, &mut buf) {
            Ok(Some(up)) => Ok(up),
            Ok(None) => break,
            Err(err) => Err(err),
        };
        let failed = line.is_err();
        let sent = events.send(Event::Line {
            slot,
            incarnation,
            line,
        });
        if sent.is_err() || failed {
            break;
        }
    }
    let mut text = Vec::new();
    let _ = stderr.take(STDERR_KEPT).read_to_end(&mut text);
    let _ = events.send(Event::Closed {
        slot,
        incarnation,
        stderr: String::from_utf8_lossy(&text).trim().to_string(),
    });
}

/// The child's side: its parent's answers, read from `input` on a thread of their own, so the
/// end of the input is seen even while the child waits on a database or a broker. Returns the
/// answers and a flag raised when the input has closed: the parent is done with the child, or
/// dead.
pub fn hear<D, R>(mut input: R) -> (Receiver<Result<D, WireError>>, Arc<AtomicBool>)
where
    D: DeserializeOwned + Send + 'static,
    R: BufRead + Send + 'static,
{
    let closed = Arc::new(AtomicBool::new(false));
    let (answers, replies) = mpsc::channel();
    let input_closed = Arc::clone(&closed);
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        loop {
            match wire::read::<D>(&mut input, &mut buf) {
                Ok(Some(down)) => {
                    if answers.send(Ok(down)).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    let _ = answers.send(Err(err));
                    break;
                }
            }
        }
        input_closed.store(true, Ordering::Release);
    });
    (replies, closed)
}

/// Kills a child still running and waits for it, so it is neither left behind nor a zombie.
pub fn end(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A child's stderr, as the tail of an error message.
pub fn said(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; it said: {stderr}")
    }
}

#[cfg(unix)]
pub fn killed_by_sigkill(status: &ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    const SIGKILL: i32 = 9;
    status.signal() == Some(SIGKILL)
}

#[cfg(not(unix))]
pub fn killed_by_sigkill(status: &ExitStatus) -> bool {
    // Elsewhere `Child::kill` terminates without a signal; process mode is refused there anyway.
    !status.success()
}
