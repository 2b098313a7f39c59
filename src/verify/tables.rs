//! Reads the learner's own tables: `orders(order_id)` in the service's database and
//! `charges(order_id)` in the consumer's, with `amount_cents` where both tables have it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::verify::error::VerifyError;

/// What the learner's databases hold at the end of a run.
#[derive(Debug, Default)]
pub struct Committed {
    /// Committed orders, with their amounts where the table keeps them.
    pub orders: BTreeMap<u32, Option<i64>>,
    /// Charges by order: the amount of each.
    pub charges: BTreeMap<u32, Vec<Option<i64>>>,
}

/// Reads both databases.
pub fn read(service_db: &Path, consumer_db: &Path) -> Result<Committed, VerifyError> {
    let service = open(service_db, "service")?;
    let consumer = open(consumer_db, "consumer")?;
    let amounts = has_column(&service, "orders", "amount_cents")
        && has_column(&consumer, "charges", "amount_cents");
    let orders = rows(&service, "service", "orders", amounts, service_db)?;
    let mut committed = Committed::default();
    for (order, amount) in orders {
        committed.orders.insert(order, amount);
    }
    for (order, amount) in rows(&consumer, "consumer", "charges", amounts, consumer_db)? {
        committed.charges.entry(order).or_default().push(amount);
    }
    Ok(committed)
}

/// The orders committed so far, read while the run goes on.
pub fn committed_orders(service_db: &Path) -> Result<BTreeSet<u32>, VerifyError> {
    let service = open(service_db, "service")?;
    let _ = service.busy_timeout(std::time::Duration::from_millis(200));
    Ok(rows(&service, "service", "orders", false, service_db)?
        .into_iter()
        .map(|(order, _)| order)
        .collect())
}

fn open(path: &Path, role: &str) -> Result<Connection, VerifyError> {
    if !path.exists() {
        return Err(VerifyError::Data {
            what: format!(
                "the {role} never created its database at {}",
                path.display()
            ),
            hint: format!(
                "Open the `{role}_db` path the `init` message gives and create your tables there"
            ),
        });
    }
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| VerifyError::Data {
        what: format!(
            "could not open the {role}'s database at {}: {e}",
            path.display()
        ),
        hint: "The checker reads it with SQLite once every process has stopped".into(),
    })
}

fn has_column(conn: &Connection, table: &str, column: &str) -> bool {
    conn.prepare(&format!("SELECT \"{column}\" FROM \"{table}\" LIMIT 0"))
        .is_ok()
}

fn rows(
    conn: &Connection,
    role: &str,
    table: &str,
    amounts: bool,
    path: &Path,
) -> Result<Vec<(u32, Option<i64>)>, VerifyError> {
    let sql = if amounts {
        format!("SELECT order_id, amount_cents FROM \"{table}\"")
    } else {
        format!("SELECT order_id, NULL FROM \"{table}\"")
    };
    let missing = |e: rusqlite::Error| VerifyError::Data {
        what: format!(
            "the {role}'s database ({}) has no table `{table}` with a column `order_id` ({e})",
            path.display()
        ),
        hint: format!(
            "The checker reads `{table}(order_id)` there: keep one row per {} in it",
            if table == "orders" {
                "committed order"
            } else {
                "charge"
            }
        ),
    };
    let mut stmt = conn.prepare(&sql).map_err(missing)?;
    let mut out = Vec::new();
    let mut query = stmt.query([]).map_err(missing)?;
    while let Some(row) = query.next().map_err(missing)? {
        let raw: rusqlite::types::Value = row.get(0).map_err(missing)?;
        let order = match &raw {
            rusqlite::types::Value::Integer(n) => u32::try_from(*n).ok(),
            rusqlite::types::Value::Text(t) => t.trim().parse::<u32>().ok(),
            _ => None,
        };
        let Some(order) = order else {
            return Err(VerifyError::Data {
                what: format!(
                    "the {role}'s `{table}` table has an `order_id` that is not an order number: {raw:?}"
                ),
                hint: "Store the `order_id` msgwork gave you, as an integer".into(),
            });
        };
        let amount: Option<i64> = row.get(1).ok().flatten();
        out.push((order, amount));
        if out.len() > 1_000_000 {
            return Err(VerifyError::Data {
                what: format!("the {role}'s `{table}` table has more than a million rows"),
                hint: "Keep one row per order or charge".into(),
            });
        }
    }
    Ok(out)
}
