//! A doorbell for actors that run in real time: an idle actor waits for another to do some work,
//! or for its own deadline, rather than waking every few milliseconds to look.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Counts the times work was done; an actor that found nothing to do waits for the count to move.
#[derive(Default)]
pub struct Bell {
    rung: Mutex<u64>,
    moved: Condvar,
}

impl Bell {
    /// How many times the bell has rung: read before looking for work, handed to [`Bell::wait`].
    pub fn rung(&self) -> u64 {
        *self.rung.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Something happened that may give another actor work: a commit, a publish, an ack.
    pub fn ring(&self) {
        let mut rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        *rung = rung.wrapping_add(1);
        self.moved.notify_all();
    }

    /// Waits until the bell has rung since `seen` was read, or `timeout` has passed. Returns at
    /// once when it already has: whatever rang while the caller looked may be what it missed.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        while *rung == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            rung = self
                .moved
                .wait_timeout(rung, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_since_the_count_was_read_ends_the_wait_at_once() {
        let bell = Bell::default();
        let seen = bell.rung();
        bell.ring();
        // A day-long wait that must not be waited: the test would hang if it were.
        bell.wait(seen, Duration::from_secs(86_400));
        assert_eq!(bell.rung(), seen + 1);
    }

    #[test]
    fn a_ring_from_another_thread_wakes_the_waiter() {
        let bell = Bell::default();
        let seen = bell.rung();
        std::thread::scope(|scope| {
            scope.spawn(|| bell.wait(seen, Duration::from_secs(86_400)));
            bell.ring();
        });
        assert_ne!(bell.rung(), seen);
    }

    #[test]
    fn without_a_ring_the_wait_ends_at_its_timeout() {
        let bell = Bell::default();
        bell.wait(bell.rung(), Duration::from_millis(1));
        assert_eq!(bell.rung(), 0);
    }
}
