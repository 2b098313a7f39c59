//! Power loss (`simulate --power-loss`): one machine of the pipeline goes dark at once, and its
//! database keeps only what had reached the disk.
//!
//! The pipeline runs on three machines. The service's host runs the order service and the relays
//! over the orders-and-outbox database; the consumer's host runs billing over its database; the
//! broker is a machine of its own and keeps what it acknowledged. When a host loses power, every
//! component on it dies at once, an open transaction with it, and every connection to its
//! database closes, the checker's included. Only then is the disk looked at: the lab holds back
//! checkpoints, so the database's main file is what was synced before the run, and the log holds
//! every commit since. The disk keeps the log's synced prefix and a seeded part of the rest (what
//! the operating system happened to have written back): the log is cut at a seeded byte between
//! the synced length and its full length, and the shared-memory index goes with the RAM. SQLite's
//! recovery then keeps the transactions whose commit frames survived whole, and the components
//! restart from that.
//!
//! What is synced depends on `synchronous`:
//! - `FULL` syncs the log before a commit returns. A power loss strikes between calls, so every
//!   commit frame in the log was synced: the synced length is the end of the last one, read from
//!   the log when the power fails rather than after every commit, which would say the same.
//! - `NORMAL` syncs the log only at checkpoints, and the lab takes none: nothing since the start
//!   of the run, or since the last power loss, is synced.
//! - `OFF` never syncs.
//!
//! Whatever survived a power loss is on the disk, synced from then on.
//!
//! The model, not SQLite, decides what is synced: the databases themselves run with
//! `synchronous=OFF`, since a real fsync changes nothing a simulated power loss can see (the log's
//! bytes are the same) and under `FULL` would make the run six times slower.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use serde::Serialize;

use crate::sim::error::SimError;
use crate::sim::storage::Storage;
use crate::sim::storage::sqlite::sql::Durability;
use crate::sim::storage::sqlite::wal;

/// The most power losses one pipeline's run suffers: each one reads the whole log.
pub const MAX_POWER_LOSSES: usize = 8;

/// The chance of a power loss after each step of the seeded scheduler: about one in a run of
/// 150 orders, and a few in the lab's default thousand.
pub const POWER_LOSS_RATE: f64 = 0.001;

/// A machine that can lose power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Host {
    /// The order service and the relays, over the orders and the outbox.
    #[serde(rename = "service-host")]
    Service,
    /// Billing (both instances), over the charges and the inbox.
    #[serde(rename = "consumer-host")]
    Consumer,
}

impl Host {
    pub const ALL: [Host; 2] = [Host::Service, Host::Consumer];

    /// How the report and the trace name it.
    pub fn name(self) -> &'static str {
        match self {
            Host::Service => "service-host",
            Host::Consumer => "consumer-host",
        }
    }

    fn index(self) -> usize {
        match self {
            Host::Service => 0,
            Host::Consumer => 1,
        }
    }
}

/// A component's connection, which a power loss can close under it: the component finds it gone
/// at its next call.
pub type Socket = Arc<Plug>;

/// What a [`Socket`] holds: the connection, until a power loss takes it.
pub type Plug = Mutex<Option<Box<dyn Storage>>>;

/// Locks a socket, whoever panicked while holding it.
pub fn lock(socket: &Socket) -> MutexGuard<'_, Option<Box<dyn Storage>>> {
    socket.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One power loss, as the report names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PowerLoss {
    pub host: Host,
    /// When, on the run's clock.
    pub at_ms: u64,
    /// The log's length when the power failed, and how much of it had been synced.
    pub wal_bytes: u64,
    pub synced_bytes: u64,
    /// Where the disk stopped: a seeded byte from the synced length to the full one.
    pub cut_at: u64,
    /// Committed transactions in the log before the cut, and how many of them it took.
    pub commits_before: u64,
    pub commits_lost: u64,
}

/// The run's power: which host each component runs on, every connection to each host's
/// database, and what each database has synced.
pub struct Power {
    durability: Durability,
    /// The host of the component in each slot of the scheduler.
    slots: Vec<Host>,
    state: Mutex<State>,
}

struct State {
    /// Each host's database, by [`Host::index`].
    dbs: [PathBuf; 2],
    /// Bytes of each host's log known to be on the disk.
    synced: [u64; 2],
    sockets: Vec<(Host, Weak<Plug>)>,
    losses: Vec<PowerLoss>,
}

impl Power {
    /// The power of a run whose service's host keeps `orders` and consumer's host `billing`,
    /// with `slots[i]` the host of the component in slot `i`.
    pub fn new(durability: Durability, orders: &Path, billing: &Path, slots: Vec<Host>) -> Self {
        Power {
            durability,
            slots,
            state: Mutex::new(State {
                dbs: [orders.to_path_buf(), billing.to_path_buf()],
                synced: [0, 0],
                sockets: Vec::new(),
                losses: Vec::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The host the component in `slot` runs on.
    pub fn host_of(&self, slot: usize) -> Option<Host> {
        self.slots.get(slot).copied()
    }

    /// Plugs a connection to `host`'s database in, so that a power loss there closes it.
    pub fn plug(&self, host: Host, conn: Box<dyn Storage>) -> Socket {
        let socket: Socket = Arc::new(Mutex::new(Some(conn)));
        let mut state = self.state();
        state.sockets.retain(|(_, s)| s.strong_count() > 0);
        state.sockets.push((host, Arc::downgrade(&socket)));
        socket
    }

    /// Whether another power loss may strike this run.
    pub fn may_fail(&self) -> bool {
        self.state().losses.len() < MAX_POWER_LOSSES
    }

    /// Cuts the power to `host` at `now`: closes every connection to its database, then cuts
    /// its log at `pick(synced, length)`, a byte from the synced length to the full one. The
    /// components on `host` are the caller's to kill.
    pub fn fail(
        &self,
        host: Host,
        now: u64,
        pick: impl FnOnce(u64, u64) -> u64,
    ) -> Result<PowerLoss, SimError> {
        let mut state = self.state();
        for (_, socket) in state.sockets.iter().filter(|(h, _)| *h == host) {
            if let Some(socket) = socket.upgrade() {
                // Closing rolls back whatever the connection had open.
                lock(&socket).take();
            }
        }
        // A socket stays plugged in: the checker's opens again in the same one.
        state.sockets.retain(|(_, s)| s.strong_count() > 0);
        let i = host.index();
        let db = state.dbs[i].clone();
        let failed = |cause| SimError::PowerLoss {
            path: wal::wal_path(&db),
            cause,
        };
        let length = wal::length(&db).map_err(failed)?;
        let synced = match self.durability {
            Durability::Full => wal::scan_file(&db).map_err(failed)?.committed_end,
            Durability::Normal | Durability::Off => state.synced[i],
        }
        .min(length);
        let cut_at = pick(synced, length).clamp(synced, length);
        let cut = wal::cut(&db, cut_at).map_err(failed)?;
        state.synced[i] = cut.after.committed_end;
        let loss = PowerLoss {
            host,
            at_ms: now,
            wal_bytes: length,
            synced_bytes: synced,
            cut_at,
            commits_before: cut.before.commits,
            commits_lost: cut.commits_lost(),
        };
        state.losses.push(loss.clone());
        Ok(loss)
    }

    /// Every power loss so far, in order.
    pub fn losses(&self) -> Vec<PowerLoss> {
        self.state().losses.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::Order;
    use crate::sim::storage::{Backend, Db};

    /// A backend whose orders database holds `orders` committed orders, all in the log.
    fn placed(dir: &Path, durability: Durability, orders: u32) -> Backend {
        let backend = Backend::sqlite(dir, "t", durability).with_power_loss();
        backend.create(true).unwrap();
        let mut conn = backend.connect(Db::Service).unwrap();
        for n in 1..=orders {
            conn.begin().unwrap();
            conn.insert_order(&Order::generate(1, n), 0).unwrap();
            conn.commit().unwrap();
        }
        backend
    }

    fn power(dir: &Path, durability: Durability) -> Power {
        Power::new(
            durability,
            &dir.join("t-orders.db"),
            &dir.join("t-billing.db"),
            vec![Host::Service, Host::Consumer],
        )
    }

    #[test]
    fn a_power_loss_closes_every_connection_to_the_host_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let backend = placed(dir.path(), Durability::Off, 3);
        let power = power(dir.path(), Durability::Off);
        let orders = power.plug(Host::Service, backend.connect(Db::Service).unwrap());
        let billing = power.plug(Host::Consumer, backend.connect(Db::Billing).unwrap());
        let loss = power.fail(Host::Service, 7, |_, length| length).unwrap();
        assert!(lock(&orders).is_none());
        assert!(lock(&billing).is_some());
        assert_eq!((loss.at_ms, loss.commits_lost), (7, 0));
        assert_eq!(loss.commits_before, 3);
    }

    #[test]
    fn a_socket_opened_again_after_a_power_loss_is_closed_by_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let backend = placed(dir.path(), Durability::Off, 2);
        let power = power(dir.path(), Durability::Off);
        let checker = power.plug(Host::Service, backend.connect(Db::Service).unwrap());
        for at in 1..=3 {
            power.fail(Host::Service, at, |_, length| length).unwrap();
            assert!(lock(&checker).is_none(), "loss {at}");
            *lock(&checker) = Some(backend.connect(Db::Service).unwrap());
        }
        assert_eq!(power.losses().len(), 3);
    }

    #[test]
    fn under_full_every_commit_survives_and_under_off_the_cut_decides() {
        for (durability, lost_any) in [(Durability::Full, false), (Durability::Off, true)] {
            let dir = tempfile::tempdir().unwrap();
            let backend = placed(dir.path(), durability, 5);
            let power = power(dir.path(), durability);
            // The disk stops as early as the durability allows.
            let loss = power.fail(Host::Service, 1, |synced, _| synced).unwrap();
            assert_eq!(loss.commits_lost > 0, lost_any, "{durability:?}: {loss:?}");
            let left = backend
                .connect(Db::Service)
                .unwrap()
                .committed_orders()
                .unwrap();
            assert_eq!(left.len() == 5, !lost_any, "{durability:?}");
            // What survived is on the disk: a second loss at once takes nothing more.
            let again = power.fail(Host::Service, 2, |synced, _| synced).unwrap();
            assert_eq!(again.commits_lost, 0, "{durability:?}");
        }
    }
}
