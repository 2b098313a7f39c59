//! The checker's reads at the end of a run, a row at a time: committed orders and charges are
//! handed to the caller as SQLite steps through them, so reading a million takes no more memory
//! than reading ten.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::sim::error::{SimError, SqlContext};

/// Page cache for a scan, in KiB: a scan reads each page once, so a small cache loses nothing.
const SCAN_CACHE_KIB: i64 = 2048;

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "cache_size", -SCAN_CACHE_KIB)?;
    Ok(conn)
}

/// Calls `each` with the number and amount of every committed order in the orders database at
/// `path`, by order number.
pub fn each_order(path: &Path, each: &mut dyn FnMut(u32, i64)) -> Result<(), SimError> {
    let conn = open(path).sql("opening the orders database to check it")?;
    let mut statement = conn
        .prepare("SELECT id, amount_cents FROM orders ORDER BY id")
        .sql("reading committed orders")?;
    let mut rows = statement.query([]).sql("reading committed orders")?;
    while let Some(row) = rows.next().sql("reading committed orders")? {
        each(
            row.get(0).sql("reading committed orders")?,
            row.get(1).sql("reading committed orders")?,
        );
    }
    Ok(())
}

/// Calls `each` with the order reference and amount of every charge in the billing database at
/// `path`, one call per charge.
pub fn each_charge(path: &Path, each: &mut dyn FnMut(&str, i64)) -> Result<(), SimError> {
    let conn = open(path).sql("opening the billing database to check it")?;
    let mut statement = conn
        .prepare("SELECT order_id, amount_cents FROM charges ORDER BY id")
        .sql("reading charges")?;
    let mut rows = statement.query([]).sql("reading charges")?;
    while let Some(row) = rows.next().sql("reading charges")? {
        let reference: String = row.get(0).sql("reading charges")?;
        each(&reference, row.get(1).sql("reading charges")?);
    }
    Ok(())
}

/// How many claims in the claim log of the outbox database at `path` took a row while the lease
/// they replaced still ran: [`super::sql::claims_over_live_leases`], read through a small cache,
/// since the log holds a row for every claim of the run.
pub fn claims_over_live_leases(path: &Path) -> Result<u64, SimError> {
    let conn = open(path).sql("opening the outbox's database to check its claims")?;
    super::sql::claims_over_live_leases(&conn).sql("counting claims over live leases")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::storage::sqlite::sql::{Durability, open as open_lab};

    #[test]
    fn every_order_and_charge_is_handed_over_once() {
        let dir = tempfile::tempdir().unwrap();
        let orders = dir.path().join("orders.db");
        let billing = dir.path().join("billing.db");
        let conn = open_lab(&orders, Durability::Off).unwrap();
        conn.execute_batch(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, amount_cents INTEGER NOT NULL);
             INSERT INTO orders VALUES (2, 700), (1, 500);",
        )
        .unwrap();
        let conn = open_lab(&billing, Durability::Off).unwrap();
        conn.execute_batch(
            "CREATE TABLE charges (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL,
                                   amount_cents INTEGER NOT NULL);
             INSERT INTO charges (order_id, amount_cents) VALUES
                 ('ord_000002', 700), ('ord_000002', 700), ('nonsense', 1);",
        )
        .unwrap();
        let mut seen = Vec::new();
        each_order(&orders, &mut |n, amount| seen.push((n, amount))).unwrap();
        assert_eq!(seen, [(1, 500), (2, 700)]);
        let mut charges = Vec::new();
        each_charge(&billing, &mut |r, amount| {
            charges.push((r.to_string(), amount))
        })
        .unwrap();
        assert_eq!(charges.len(), 3);
        assert_eq!(charges[2], ("nonsense".to_string(), 1));
        let missing = dir.path().join("missing.db");
        let err = each_order(&missing, &mut |_, _| {}).unwrap_err();
        assert!(
            err.to_string().contains("opening the orders database"),
            "{err}"
        );
    }
}
