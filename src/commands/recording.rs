//! Keeping a finished run in the learner's store, or, when the data directory cannot be written,
//! still showing the result and then saying once, clearly, that it was not kept and why.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::store::{Store, StoreError};

/// The reason a run was not recorded, kept until the command's output is out.
#[derive(Default)]
pub struct Missed(RefCell<Option<String>>);

impl Missed {
    /// Keeps the first reason: one warning per command, however many records failed.
    fn note(&self, err: &StoreError) {
        self.0.borrow_mut().get_or_insert_with(|| err.to_string());
    }

    /// The one warning to print after the output, if a record was missed.
    pub fn warning(&self) -> Option<String> {
        self.0.borrow().as_ref().map(|reason| {
            format!(
                "warning: this result was not recorded, so it does not count as evidence: \
                 {reason}; then run the command again"
            )
        })
    }
}

/// The store a command records its run in; when the store cannot be written, the run is done
/// and shown all the same, and [`Missed`] says afterwards that it was not kept.
pub struct Recorder<'a> {
    store: Result<Store, StoreError>,
    missed: &'a Missed,
}

/// Where a run was recorded, for the report to cite: `· recorded as run 7`, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunNote(pub Option<i64>);

impl fmt::Display for RunNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(run) => write!(f, "  ·  recorded as run {run}"),
            None => Ok(()),
        }
    }
}

impl<'a> Recorder<'a> {
    /// Opens the store in `dir`: a store that cannot be written is kept as the reason, any
    /// other problem (a newer schema, a damaged file) stops the command before it starts.
    pub fn open(dir: &Path, missed: &'a Missed) -> Result<Self> {
        let store = match Store::open(dir) {
            Err(err) if !err.is_read_only() => return Err(err.into()),
            store => store,
        };
        Ok(Recorder { store, missed })
    }

    /// The store, to read from: an error if it could not be opened at all.
    pub fn store(&self) -> Result<&Store> {
        self.store.as_ref().map_err(|err| anyhow::anyhow!("{err}"))
    }

    /// Records a run and returns its id, or `None` when it could not be recorded: the reason
    /// is kept for the warning, and the command goes on to show its result.
    pub fn record(
        &self,
        kind: &str,
        seed: Option<u64>,
        options: &impl Serialize,
        results: &impl Serialize,
    ) -> Option<i64> {
        let recorded = self
            .store
            .as_ref()
            .map_err(|err| self.missed.note(err))
            .ok()?
            .record(kind, seed, options, results);
        recorded.map_err(|err| self.missed.note(&err)).ok()
    }

    /// Where runs are recorded, when the store is open.
    pub fn path(&self) -> Option<&Path> {
        self.store.as_ref().ok().map(Store::path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missed_record_is_said_once_with_its_reason() {
        let missed = Missed::default();
        assert_eq!(missed.warning(), None);
        let first = StoreError::ReadOnly {
            path: "/data/progress.db".into(),
            reason: "first".to_string(),
        };
        let second = StoreError::ReadOnly {
            path: "/data/progress.db".into(),
            reason: "second".to_string(),
        };
        missed.note(&first);
        missed.note(&second);
        let warning = missed.warning().unwrap();
        assert!(warning.contains("not recorded"), "{warning}");
        assert!(
            warning.contains("first") && !warning.contains("second"),
            "{warning}"
        );
        assert!(warning.contains("--data-dir"), "{warning}");
    }

    #[test]
    fn a_run_note_cites_the_run_or_says_nothing() {
        assert_eq!(RunNote(Some(7)).to_string(), "  ·  recorded as run 7");
        assert_eq!(RunNote(None).to_string(), "");
    }
}
