//! The streams one lab run makes, named after the run so that runs side by side never meet, and
//! deleted when the run is over (or on Ctrl-C) unless the learner asked to keep them.

use std::time::{SystemTime, UNIX_EPOCH};

use super::error::BrokerError;
use super::leftovers::{self, Registered};
use super::nats::{Session, StreamSpec};

/// A name for this run, unique on one machine: the lab, the process id and a clock reading.
pub fn run_tag(lab: &str) -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() % 1_000_000_000)
        .unwrap_or_default();
    format!("{lab}{}x{micros}", std::process::id())
}

/// The stream `msgwork_<tag>_<name>` and the subject `msgwork.<tag>.<name>` it captures.
pub fn names(tag: &str, name: &str) -> (String, String) {
    (
        format!("msgwork_{tag}_{name}"),
        format!("msgwork.{tag}.{name}"),
    )
}

/// Streams made for one run; deleted on [`RunStreams::finish`], on drop, or on Ctrl-C.
pub struct RunStreams<'s> {
    session: &'s Session,
    names: Vec<String>,
    keep: bool,
    on_interrupt: Vec<Registered>,
}

impl<'s> RunStreams<'s> {
    pub fn new(session: &'s Session, keep: bool) -> Self {
        RunStreams {
            session,
            names: Vec::new(),
            keep,
            on_interrupt: Vec::new(),
        }
    }

    /// Creates the stream afresh, registered for deletion before it exists so Ctrl-C cannot miss
    /// it; one of the same name left by an earlier run is deleted first.
    pub fn create(&mut self, spec: &StreamSpec<'_>) -> Result<(), BrokerError> {
        self.session.delete_stream(spec.name)?;
        if !self.keep {
            self.on_interrupt
                .push(leftovers::stream(self.session.url(), spec.name));
        }
        self.names.push(spec.name.to_string());
        self.session.create_stream(spec)
    }

    /// The streams made so far, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Deletes the run's streams unless they are kept; an error if one could not be deleted.
    pub fn finish(mut self) -> Result<(), BrokerError> {
        self.delete()
    }

    fn delete(&mut self) -> Result<(), BrokerError> {
        if self.keep {
            return Ok(());
        }
        let mut first_error = None;
        for name in std::mem::take(&mut self.names) {
            if let Err(err) = self.session.delete_stream(&name) {
                first_error.get_or_insert(err);
            }
        }
        self.on_interrupt.clear();
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for RunStreams<'_> {
    fn drop(&mut self) {
        let _ = self.delete();
    }
}
