//! The pipes between a parent and its child processes, for every lab that runs its actors as
//! children (the crash lab's process mode and the broker's): the parent reads each child's lines
//! on a thread of its own, a child reads its parent's answers on one of its own, and whatever
//! ends a run, no child outlives it. Only the message types differ between labs.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, ChildStdout, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

use serde::de::DeserializeOwned;

use crate::sim::crash::process::wire;
use crate::sim::error::WireError;

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
