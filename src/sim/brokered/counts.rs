//! What a broker run's actors count between them, whether they are threads of this process or
//! child processes whose lines the parent reads: shared by both ways of running.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::report::STALL_LIMIT;
use crate::sim::model::Envelope;

/// What the actors count between them.
#[derive(Default)]
pub struct Counts {
    pub publishes: AtomicU64,
    pub publisher_crashes: AtomicU64,
    pub absorbed_by_broker: AtomicU64,
    /// Messages the stream stored: what the consumer must see through.
    pub stored: AtomicU64,
    pub service_crashes: AtomicU64,
    pub consumer_crashes: AtomicU64,
    pub redelivered: AtomicU64,
    pub absorbed_by_inbox: AtomicU64,
    pub producers_done: AtomicBool,
    /// When something last moved, to tell a stalled broker from a slow one.
    progress: Mutex<Option<Instant>>,
    /// The first event the broker acknowledged, and when: sent again late, outside the window.
    first_sent: Mutex<Option<(Envelope, Instant)>>,
}

impl Counts {
    /// Counts one acknowledged publish; the first one is kept for the late duplicate.
    pub fn published(&self, event: &Envelope, duplicate: bool) {
        self.publishes.fetch_add(1, Ordering::SeqCst);
        if duplicate {
            self.absorbed_by_broker.fetch_add(1, Ordering::SeqCst);
        } else {
            self.stored.fetch_add(1, Ordering::SeqCst);
        }
        self.first_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| (event.clone(), Instant::now()));
        self.moved();
    }

    pub fn moved(&self) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    pub fn stalled(&self) -> bool {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() > STALL_LIMIT)
    }

    /// The first event sent, and when.
    pub fn first_sent(&self) -> Option<(Envelope, Instant)> {
        self.first_sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }
}
