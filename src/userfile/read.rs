//! The bounded reader itself: the file's type is checked before it is opened, it is opened
//! without blocking, and no more than the cap plus one byte is ever read.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// How much of what a command accepts, and what it should be, for the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
    /// What the file is, e.g. "an answers file".
    pub what: &'static str,
    /// What to give instead of a directory or a binary file, e.g. "a JSON file".
    pub expect: &'static str,
}

/// A file's text and the name it is reported under.
#[derive(Debug)]
pub struct Text {
    pub name: String,
    pub text: String,
}

/// Why a file was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// Missing, not permitted, or an I/O error: the system's reason.
    Unreadable(String),
    /// A directory where a file was wanted.
    Directory,
    /// A named pipe, a socket or a device: reading one may block forever or never end.
    Special(&'static str),
    /// Over the cap; the size when it is known without reading.
    TooLarge { size: Option<u64>, limit: Limit },
    /// A NUL byte or invalid UTF-8 at this byte offset.
    Binary(usize),
}

impl Why {
    /// What is wrong, as the rest of a sentence about the file.
    pub fn said(&self) -> String {
        match self {
            Why::Unreadable(reason) => format!("cannot read it ({reason})"),
            Why::Directory => "it is a directory".to_string(),
            Why::Special(kind) => format!("it is {kind}, not a regular file"),
            Why::TooLarge { size, limit } => {
                let max = bytes(limit.max_bytes);
                match size {
                    Some(size) => format!(
                        "it is {}, over the {max} limit for {}",
                        bytes(*size),
                        limit.what
                    ),
                    None => format!("it is over the {max} limit for {}", limit.what),
                }
            }
            Why::Binary(offset) => format!("it is not text (binary data at byte {offset})"),
        }
    }

    /// What to do about it.
    pub fn fix(&self, expect: &str) -> String {
        match self {
            Why::Unreadable(_) => "check the path and its permissions".to_string(),
            Why::Directory | Why::Binary(_) => format!("give the path of {expect}"),
            Why::Special(_) => {
                format!("give the path of {expect}, or pipe the content to - (standard input)")
            }
            Why::TooLarge { .. } => "check that this is the right file".to_string(),
        }
    }
}

/// A file that was not read: which one, why, and what was expected of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ReadError {
    pub name: String,
    pub why: Why,
    pub expect: &'static str,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; {}",
            self.name,
            self.why.said(),
            self.why.fix(self.expect)
        )
    }
}

/// A byte count for people: whole MiB or KiB when it is one, bytes otherwise.
fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

/// How a path is named in messages: lossily, so a name that is not UTF-8 still reads, and `-`
/// as standard input.
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads `path`, or standard input for `-`, as UTF-8 text within `limit`.
pub fn read(path: &Path, limit: &Limit) -> Result<Text, ReadError> {
    let name = display_name(path);
    let text = if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        let fail = |why| ReadError {
            name: name.clone(),
            why,
            expect: limit.expect,
        };
        let bytes = capped(stdin.lock(), limit).map_err(fail)?;
        decode(bytes).map_err(fail)?
    } else {
        read_named(path, &name, limit)?
    };
    Ok(Text { name, text })
}

/// Reads the regular file at `path` (never standard input) as UTF-8 text within `limit`,
/// reporting it as `name`.
pub fn read_named(path: &Path, name: &str, limit: &Limit) -> Result<String, ReadError> {
    let fail = |why| ReadError {
        name: name.to_string(),
        why,
        expect: limit.expect,
    };
    // The type first: opening a pipe with no writer would block, and a device may never end.
    let meta = std::fs::metadata(path).map_err(|e| fail(Why::Unreadable(reason(&e))))?;
    regular(&meta).map_err(fail)?;
    if meta.len() > limit.max_bytes {
        return Err(fail(Why::TooLarge {
            size: Some(meta.len()),
            limit: *limit,
        }));
    }
    let file = open(path).map_err(|e| fail(Why::Unreadable(reason(&e))))?;
    // The path may have been swapped for something else between the two looks.
    let opened = file
        .metadata()
        .map_err(|e| fail(Why::Unreadable(reason(&e))))?;
    regular(&opened).map_err(fail)?;
    let bytes = capped(file, limit).map_err(fail)?;
    decode(bytes).map_err(fail)
}

/// The system's reason, without Rust's "(os error N)" suffix.
fn reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Refuses anything but a regular file, naming what it is.
fn regular(meta: &Metadata) -> Result<(), Why> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(Why::Directory);
    }
    Err(Why::Special(special_kind(&kind)))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Opens for reading without waiting for a pipe's writer.
#[cfg(unix)]
fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// At most the cap plus one byte, so an endless source is refused after a bounded read.
fn capped(source: impl Read, limit: &Limit) -> Result<Vec<u8>, Why> {
    let mut bytes = Vec::new();
    source
        .take(limit.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Why::Unreadable(reason(&e)))?;
    if bytes.len() as u64 > limit.max_bytes {
        return Err(Why::TooLarge {
            size: None,
            limit: *limit,
        });
    }
    Ok(bytes)
}

/// UTF-8 text with no NUL byte.
fn decode(bytes: Vec<u8>) -> Result<String, Why> {
    if let Some(offset) = bytes.iter().position(|b| *b == 0) {
        return Err(Why::Binary(offset));
    }
    String::from_utf8(bytes).map_err(|e| Why::Binary(e.utf8_error().valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limit = Limit {
        max_bytes: 16,
        what: "a test file",
        expect: "a text file",
    };

    fn read_at(path: &Path) -> Result<String, Why> {
        read(path, &SMALL).map(|t| t.text).map_err(|e| e.why)
    }

    #[test]
    fn a_small_text_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "hello").unwrap();
        assert_eq!(read_at(&path).unwrap(), "hello");
    }

    #[test]
    fn what_is_not_a_small_text_file_is_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        assert!(matches!(read_at(&p("missing")), Err(Why::Unreadable(_))));
        assert_eq!(read_at(dir.path()), Err(Why::Directory));
        std::fs::write(p("big"), "x".repeat(17)).unwrap();
        assert!(matches!(
            read_at(&p("big")),
            Err(Why::TooLarge { size: Some(17), .. })
        ));
        std::fs::write(p("nul"), b"ab\0").unwrap();
        assert_eq!(read_at(&p("nul")), Err(Why::Binary(2)));
        std::fs::write(p("latin1"), b"caf\xe9").unwrap();
        assert_eq!(read_at(&p("latin1")), Err(Why::Binary(3)));
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_pipes_are_refused_without_being_opened() {
        assert_eq!(
            read_at(Path::new("/dev/zero")),
            Err(Why::Special("a device"))
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if made {
            assert_eq!(read_at(&fifo), Err(Why::Special("a named pipe (FIFO)")));
        }
    }

    #[test]
    fn an_endless_source_is_cut_at_the_cap() {
        let endless = std::io::repeat(b'x');
        assert!(matches!(
            capped(endless, &SMALL),
            Err(Why::TooLarge { size: None, .. })
        ));
    }

    #[test]
    fn messages_name_the_file_and_say_what_to_do() {
        let err = ReadError {
            name: "a.json".into(),
            why: Why::TooLarge {
                size: Some(50 * 1024 * 1024),
                limit: Limit {
                    max_bytes: 1024 * 1024,
                    what: "an answers file",
                    expect: "a JSON file",
                },
            },
            expect: "a JSON file",
        };
        assert_eq!(
            err.to_string(),
            "a.json: it is 50 MiB, over the 1 MiB limit for an answers file; check that this is the right file"
        );
        assert_eq!(bytes(1000), "1000 bytes");
    }
}
