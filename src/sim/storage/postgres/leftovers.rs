//! What a run leaves on a server if the learner presses Ctrl-C: its schemas and its replication
//! slot. A forgotten slot is the costly one, since the server keeps every byte of WAL for it, so
//! a run registers what it makes here, and the program's one Ctrl-C handler, at the edge, has
//! [`drop_all`] drop it before the process exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Something on the server to drop if the run is interrupted.
#[derive(Clone, Debug)]
enum Leftover {
    Schema(String),
    Slot(String),
}

struct Pending {
    id: u64,
    url: String,
    leftover: Leftover,
}

static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Keeps a leftover registered; dropping it means the run cleaned up (or chose to keep) it.
#[must_use = "the leftover is forgotten as soon as this is dropped"]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        pending().retain(|p| p.id != self.0);
    }
}

fn pending() -> std::sync::MutexGuard<'static, Vec<Pending>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn register(url: &str, leftover: Leftover) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    pending().push(Pending {
        id,
        url: url.to_string(),
        leftover,
    });
    Registered(id)
}

/// Drops schema `name` on the server at `url` if the run is interrupted.
pub fn schema(url: &str, name: &str) -> Registered {
    register(url, Leftover::Schema(name.to_string()))
}

/// Drops replication slot `name` on the server at `url` if the run is interrupted.
pub fn slot(url: &str, name: &str) -> Registered {
    register(url, Leftover::Slot(name.to_string()))
}

/// What [`drop_all`] managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub dropped: usize,
    pub registered: usize,
}

/// Drops everything still registered, slots first. Best effort: the process is about to exit.
pub fn drop_all() -> Dropped {
    let mut leftovers = std::mem::take(&mut *pending());
    leftovers.sort_by_key(|p| !matches!(p.leftover, Leftover::Slot(_)));
    let mut dropped = 0;
    for p in &leftovers {
        let Ok(mut client) = super::connect::connect(&p.url) else {
            continue;
        };
        let done = match &p.leftover {
            Leftover::Schema(name) => client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .is_ok(),
            Leftover::Slot(name) => super::slot::drop_slot(&mut client, name).is_ok(),
        };
        dropped += usize::from(done);
    }
    Dropped {
        dropped,
        registered: leftovers.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leftover_is_forgotten_once_its_owner_is_done_with_it() {
        let a = schema("postgres://nobody@127.0.0.1:1/x", "msgwork_test_a");
        let b = slot("postgres://nobody@127.0.0.1:1/x", "msgwork_test_b");
        let ids = |p: &Vec<Pending>| p.iter().map(|p| p.id).collect::<Vec<_>>();
        assert!(ids(&pending()).contains(&a.0) && ids(&pending()).contains(&b.0));
        let a_id = a.0;
        drop(a);
        assert!(!ids(&pending()).contains(&a_id));
        drop(b);
    }
}
