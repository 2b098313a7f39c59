//! Which database a lab runs on: where its data lives ([`Location`], which a child process can be
//! handed), and the duty to make its tables and clean up after it ([`Backend`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::postgres::feed::PgFeed;
use super::postgres::leftovers;
use super::postgres::slot;
use super::postgres::store::{LabSchemas, PgConn, schema_name};
use super::seam::{ChangeFeed, Db, Storage};
use super::sqlite::feed::{Feed, FeedConnection, RELAY_SCHEMA, SqliteFeed};
use super::sqlite::files::remove_db;
use super::sqlite::sql::{self as db, Durability};
use super::sqlite::store::Sqlite;
use super::sqlite::wal;
use crate::sim::clock::{SharedClock, WallClock};
use crate::sim::error::{PgContext, SimError, SqlContext};

/// Where a run's data lives, in a form a child process can be handed to open it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Location {
    Sqlite {
        service: PathBuf,
        billing: PathBuf,
        /// Where the CDC relay once saved its position, removed with the rest by
        /// [`Backend::create`]; the position now lives beside the outbox.
        relay: PathBuf,
        durability: Durability,
        /// Connections hold back every checkpoint, so that a power loss can cut the log: see
        /// [`Backend::with_power_loss`].
        #[serde(default)]
        power_loss: bool,
    },
    Postgres {
        url: String,
        service: String,
        billing: String,
        /// The CDC relay's replication slot.
        slot: String,
        /// Whether a commit waits for its WAL to reach the disk.
        #[serde(default = "waits_for_flush")]
        synchronous_commit: bool,
    },
}

fn waits_for_flush() -> bool {
    true
}

impl Location {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres { .. })
    }

    /// A new connection to `db`: a component (re)starting. On SQLite, `clock` is the database's
    /// clock, which times its leases; a PostgreSQL server keeps its own.
    pub fn connect(&self, db: Db, clock: &SharedClock) -> Result<Box<dyn Storage>, SimError> {
        match self {
            Location::Sqlite {
                service,
                billing,
                durability,
                power_loss,
                ..
            } => {
                let path = match db {
                    Db::Service => service,
                    Db::Billing => billing,
                };
                let conn = db::open(path, *durability).sql("opening a connection")?;
                if *power_loss {
                    wal::hold_checkpoints(&conn).sql("holding back checkpoints")?;
                }
                Ok(Box::new(Sqlite::plain(conn, SharedClock::clone(clock))))
            }
            Location::Postgres {
                url,
                service,
                billing,
                synchronous_commit,
                ..
            } => {
                let schema = match db {
                    Db::Service => service,
                    Db::Billing => billing,
                };
                // A service's order and outbox row go to the server in one round trip; for
                // any other transaction holding changes nothing (see `postgres::held`).
                let conn = PgConn::open_with(url, schema, *synchronous_commit)?;
                Ok(Box::new(conn.holding_writes()))
            }
        }
    }
}

/// `postgres` for a run given a server's URL, `sqlite` otherwise: the name reports carry.
pub fn backend_name(db: Option<&str>) -> &'static str {
    if db.is_some() { "postgres" } else { "sqlite" }
}

/// The schemas a PostgreSQL backend works in, by what they hold.
const PG_SCHEMAS: [&str; 2] = ["orders", "billing"];

/// The schemas [`Backend::postgres`] makes for `run` and `tag`.
pub fn postgres_schemas(run: &str, tag: &str) -> Vec<String> {
    let prefix = format!("{run}_{tag}");
    PG_SCHEMAS
        .iter()
        .map(|name| schema_name(&prefix, name))
        .collect()
}

/// The database a lab runs on: where its data lives, and the duty to clean up after it.
pub struct Backend {
    location: Location,
    /// The PostgreSQL schemas, dropped with the backend unless kept.
    _schemas: Option<LabSchemas>,
    /// Whether this run made a replication slot, which must be dropped whatever happens.
    /// Set once this run made a replication slot; dropping the slot is then its duty, on Ctrl-C
    /// as on any other way out.
    slot_made: Option<leftovers::Registered>,
    /// Wakes the CDC relay on SQLite; PostgreSQL wakes it with NOTIFY instead.
    feed: Arc<Feed>,
    /// The clock the SQLite databases time leases by: see [`Backend::timed_by`].
    clock: SharedClock,
}

impl Backend {
    /// SQLite files `<tag>-orders.db` and `<tag>-billing.db` in `dir`.
    pub fn sqlite(dir: &Path, tag: &str, durability: Durability) -> Backend {
        Backend {
            location: Location::Sqlite {
                service: dir.join(format!("{tag}-orders.db")),
                billing: dir.join(format!("{tag}-billing.db")),
                relay: dir.join(format!("{tag}-relay.db")),
                durability,
                power_loss: false,
            },
            _schemas: None,
            slot_made: None,
            feed: Arc::new(Feed::default()),
            clock: Arc::new(WallClock::start()),
        }
    }

    /// Schemas `msgwork_<run>_<tag>_orders` and `…_billing` on the server at `url`, dropped with
    /// the backend unless `keep`.
    pub fn postgres(url: &str, run: &str, tag: &str, keep: bool) -> Result<Backend, SimError> {
        let prefix = format!("{run}_{tag}");
        let schemas = LabSchemas::create(url, &prefix, &PG_SCHEMAS, keep)?;
        let schema = |name| schemas.schema(name).unwrap_or_default().to_string();
        Ok(Backend {
            location: Location::Postgres {
                url: url.to_string(),
                service: schema("orders"),
                billing: schema("billing"),
                slot: format!("msgwork_{prefix}"),
                synchronous_commit: true,
            },
            _schemas: Some(schemas),
            slot_made: None,
            feed: Arc::new(Feed::default()),
            clock: Arc::new(WallClock::start()),
        })
    }

    /// On PostgreSQL, commits that return before their WAL is flushed: for a lab that crashes its
    /// own connections but never the server, whose commits then cost a round trip rather than an
    /// fsync. Not for a CDC relay, which reads only flushed WAL. SQLite's durability is chosen in
    /// [`Backend::sqlite`].
    pub fn lazy_commits(mut self) -> Backend {
        if let Location::Postgres {
            synchronous_commit, ..
        } = &mut self.location
        {
            *synchronous_commit = false;
        }
        self
    }

    /// On SQLite, connections that never checkpoint, automatically or on close: the main file
    /// keeps what was synced before the run and every commit since stays in the log, where a
    /// power loss can cut it (`simulate --power-loss`). A run's log then grows with it.
    pub fn with_power_loss(mut self) -> Backend {
        if let Location::Sqlite { power_loss, .. } = &mut self.location {
            *power_loss = true;
        }
        self
    }

    /// Times the SQLite databases' leases by `clock`, the run's own, rather than the wall clock
    /// from when the backend was made: a lab on simulated time passes its simulated clock.
    pub fn timed_by(mut self, clock: SharedClock) -> Backend {
        self.clock = clock;
        self
    }

    /// The clock the databases time leases by.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Creates the lab's tables, empty; the outbox and the consumer's inbox only when asked for
    /// (the naive pipeline has neither).
    pub fn create(&self, with_outbox: bool) -> Result<(), SimError> {
        self.create_with(with_outbox, with_outbox)
    }

    /// Creates the lab's tables, empty, with the outbox and the inbox chosen apart: a consumer
    /// that dedupes behind a naive producer.
    pub fn create_with(&self, with_outbox: bool, with_inbox: bool) -> Result<(), SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                billing,
                relay,
                durability,
                ..
            } => {
                for path in [service, billing, relay] {
                    remove_db(path)?;
                }
                let conn = db::open(service, *durability).sql("creating the order database")?;
                db::create_service_schema(&conn, with_outbox).sql("creating the order schema")?;
                if with_outbox {
                    db::create_claim_log(&conn).sql("creating the claim log")?;
                }
                let conn = db::open(billing, *durability).sql("creating the billing database")?;
                db::create_billing_schema(&conn, with_inbox).sql("creating the billing schema")?;
            }
            Location::Postgres {
                url,
                service,
                billing,
                ..
            } => {
                PgConn::open(url, service)?
                    .create_service_schema(with_outbox)
                    .pg("creating the order schema")?;
                PgConn::open(url, billing)?
                    .create_billing_schema(with_inbox)
                    .pg("creating the billing schema")?;
            }
        }
        Ok(())
    }

    /// Creates the ordering lab's tables, empty: the outbox with a partition and a sequence number
    /// on each row and an index on each partition's unsent rows, and the consumer's record of how
    /// far it has applied each aggregate. The crash lab's tables are the same without them.
    pub fn create_partitioned(&self) -> Result<(), SimError> {
        self.create(true)?;
        match &self.location {
            Location::Sqlite {
                service,
                billing,
                durability,
                ..
            } => {
                let conn = db::open(service, *durability).sql("opening the order database")?;
                db::partition_outbox(&conn).sql("partitioning the outbox")?;
                let conn = db::open(billing, *durability).sql("opening the billing database")?;
                db::create_progress_schema(&conn).sql("creating the consumer's progress table")?;
            }
            Location::Postgres {
                url,
                service,
                billing,
                ..
            } => {
                PgConn::open(url, service)?
                    .partition_outbox()
                    .pg("partitioning the outbox")?;
                PgConn::open(url, billing)?
                    .create_progress_schema()
                    .pg("creating the consumer's progress table")?;
            }
        }
        Ok(())
    }

    /// Prepares the change feed a CDC relay follows: the relay's position table beside the
    /// outbox on SQLite (see [`SqliteFeed`] for why there), a replication slot and the outbox's
    /// commit notification on PostgreSQL.
    pub fn create_feed(&mut self) -> Result<(), SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                durability,
                ..
            } => {
                let conn = db::open(service, *durability).sql("opening the outbox's database")?;
                conn.execute_batch(RELAY_SCHEMA)
                    .sql("creating the relay's position table")?;
            }
            Location::Postgres {
                url, service, slot, ..
            } => {
                let mut conn = PgConn::open(url, service)?;
                self.slot_made = Some(leftovers::slot(url, slot));
                PgFeed::create_slot(&mut conn, slot)?;
            }
        }
        Ok(())
    }

    /// A new connection to `db`.
    pub fn connect(&self, db: Db) -> Result<Box<dyn Storage>, SimError> {
        self.location.connect(db, &self.clock)
    }

    /// A connection for a service whose commits a CDC relay follows. On SQLite it carries the
    /// feed's hooks; on PostgreSQL the server's log needs nothing from the writer.
    pub fn connect_followed(&self) -> Result<Box<dyn Storage>, SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                durability,
                ..
            } => {
                let conn = db::open(service, *durability).sql("opening the service")?;
                let fed = FeedConnection::new(conn, Arc::clone(&self.feed))
                    .sql("installing the change feed")?;
                Ok(Box::new(Sqlite::fed(fed, SharedClock::clone(&self.clock))))
            }
            Location::Postgres { .. } => self.connect(Db::Service),
        }
    }

    /// A CDC relay's change feed, reading on from the durable position.
    pub fn change_feed(&self) -> Result<Box<dyn ChangeFeed>, SimError> {
        match &self.location {
            Location::Sqlite {
                service,
                durability,
                ..
            } => Ok(Box::new(SqliteFeed::open(
                service,
                *durability,
                Arc::clone(&self.feed),
            )?)),
            Location::Postgres {
                url, service, slot, ..
            } => Ok(Box::new(PgFeed::open(url, service, slot)?)),
        }
    }

    /// Wakes everything waiting on the feed for good: the run is over.
    pub fn close_feed(&self) {
        self.feed.close();
    }
}

impl Drop for Backend {
    /// Drops a PostgreSQL run's replication slot, kept tables or not: a slot nobody reads keeps
    /// the server's WAL forever.
    fn drop(&mut self) {
        if let Location::Postgres {
            url, service, slot, ..
        } = &self.location
            && self.slot_made.is_some()
            && let Ok(mut conn) = PgConn::open(url, service)
        {
            let _ = slot::drop_slot(conn.client(), slot);
        }
    }
}
