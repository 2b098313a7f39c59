//! Where the lab's two databases live: SQLite files in a directory, or schemas of the run's own on
//! a PostgreSQL server. `Place` picks the backend once; every stage after asks it for a database.

use std::path::PathBuf;

use super::day::Day;
use super::options::CleanupOptions;
use super::postgres;
use super::report::ServerReport;
use super::seam::{DayTables, LabDb};
use super::sqlite;
use crate::sim::error::SimError;
use crate::sim::storage::postgres::store::LabSchemas;

/// Where the lab's databases live, and the duty to clean up after them.
pub(super) enum Place {
    Sqlite {
        dir: PathBuf,
        page_size: u32,
        /// The temporary directory, removed with the place unless the files are kept.
        _temp: Option<crate::sim::storage::sqlite::files::LabDir>,
    },
    Postgres {
        url: String,
        /// The schemas, dropped with the place unless kept.
        schemas: LabSchemas,
        /// Reported as the server described itself.
        about: postgres::About,
    },
}

/// Names of the lab's two schemas on a server: `msgwork_<tag>_outbox` and `…_days`.
const SCHEMAS: [&str; 2] = ["outbox", "days"];

impl Place {
    /// SQLite files in a directory, or fresh schemas on the server `options.db` names.
    pub(super) fn open(options: &CleanupOptions) -> Result<Place, SimError> {
        match &options.db {
            Some(url) => {
                let tag = format!("cleanup{}", std::process::id());
                let schemas = LabSchemas::create(url, &tag, &SCHEMAS, options.keep_dir.is_some())?;
                let about = postgres::About::ask(url)?;
                Ok(Place::Postgres {
                    url: url.clone(),
                    schemas,
                    about,
                })
            }
            None => {
                let (temp, dir) =
                    crate::sim::storage::sqlite::files::lab_dir(options.keep_dir.as_deref())?;
                Ok(Place::Sqlite {
                    dir,
                    page_size: options.page_size,
                    _temp: temp,
                })
            }
        }
    }

    /// `sqlite` or `postgres`, for the report.
    pub(super) fn backend(&self) -> &'static str {
        match self {
            Place::Sqlite { .. } => "sqlite",
            Place::Postgres { .. } => "postgres",
        }
    }

    /// A fresh outbox with the crash lab's schema: the orders table, the outbox and its partial
    /// index on unsent rows.
    pub(super) fn outbox(&self) -> Result<Box<dyn LabDb>, SimError> {
        match self {
            Place::Sqlite { dir, page_size, .. } => Ok(Box::new(sqlite::SqliteLab::outbox(
                &dir.join("cleanup-outbox.db"),
                *page_size,
            )?)),
            Place::Postgres { url, schemas, .. } => Ok(Box::new(postgres::PgLab::outbox(
                url,
                schemas.schema(SCHEMAS[0]).unwrap_or_default(),
            )?)),
        }
    }

    /// A fresh database with two empty day tables, `old` and `new`, behind `outbox`.
    pub(super) fn day_tables(&self, old: &Day, new: &Day) -> Result<Box<dyn DayTables>, SimError> {
        match self {
            Place::Sqlite { dir, page_size, .. } => Ok(Box::new(sqlite::SqliteLab::day_tables(
                &dir.join("cleanup-partitions.db"),
                *page_size,
                old,
                new,
            )?)),
            Place::Postgres { url, schemas, .. } => Ok(Box::new(postgres::PgLab::day_tables(
                url,
                schemas.schema(SCHEMAS[1]).unwrap_or_default(),
                old,
                new,
            )?)),
        }
    }

    /// The database's page size in bytes.
    pub(super) fn page_size(&self) -> u32 {
        match self {
            Place::Sqlite { page_size, .. } => *page_size,
            Place::Postgres { about, .. } => about.block_size,
        }
    }

    /// What the report says about the server, for a run on one.
    pub(super) fn server_report(&self, keep: bool) -> Option<ServerReport> {
        match self {
            Place::Sqlite { .. } => None,
            Place::Postgres {
                url,
                schemas,
                about,
            } => Some(ServerReport {
                url: crate::sim::storage::postgres::connect::redact(url),
                version: about.version.clone(),
                schemas: SCHEMAS
                    .iter()
                    .filter_map(|name| schemas.schema(name).map(str::to_string))
                    .collect(),
                kept: keep,
                fsync: about.fsync.clone(),
                shared_buffers: about.shared_buffers.clone(),
            }),
        }
    }
}
