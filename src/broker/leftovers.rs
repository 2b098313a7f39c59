//! What a run leaves on the broker if the learner presses Ctrl-C: its streams (and with them
//! their consumers). A run registers each stream it makes here, and the program's one Ctrl-C
//! handler, at the edge, has [`delete_all`] delete them before the process exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::nats::Session;
use super::url::BrokerUrl;

struct Pending {
    id: u64,
    url: BrokerUrl,
    stream: String,
}

static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

fn pending() -> MutexGuard<'static, Vec<Pending>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps a stream registered; dropping it means the run deleted (or chose to keep) the stream.
#[must_use = "the stream is forgotten as soon as this is dropped"]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        pending().retain(|p| p.id != self.0);
    }
}

/// Deletes stream `name` on the broker at `url` if the run is interrupted.
pub fn stream(url: &BrokerUrl, name: &str) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    pending().push(Pending {
        id,
        url: url.clone(),
        stream: name.to_string(),
    });
    Registered(id)
}

/// What [`delete_all`] managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deleted {
    pub deleted: usize,
    pub registered: usize,
}

/// Deletes every stream still registered. Best effort: the process is about to exit.
pub fn delete_all() -> Deleted {
    let leftovers = std::mem::take(&mut *pending());
    let registered = leftovers.len();
    let mut deleted = 0;
    let mut sessions: Vec<Session> = Vec::new();
    for p in &leftovers {
        if !sessions.iter().any(|s| s.url() == &p.url) {
            match Session::connect(&p.url) {
                Ok(s) => sessions.push(s),
                Err(_) => continue,
            }
        }
        let Some(session) = sessions.iter().find(|s| s.url() == &p.url) else {
            continue;
        };
        if session.delete_stream(&p.stream).is_ok() {
            deleted += 1;
        }
    }
    Deleted {
        deleted,
        registered,
    }
}
