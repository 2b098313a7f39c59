//! The checker's reads at the end of a run on PostgreSQL, a few thousand rows at a time: the
//! rows come through a portal in a read-only transaction, so checking a million orders takes no
//! more memory than checking ten. The SQLite twin is `sqlite::scan`.

use postgres::Client;
use postgres::types::ToSql;

use crate::sim::error::{PgContext, SimError};
use crate::sim::storage::postgres::store::PgConn;

/// Rows fetched from the portal at a time.
const FETCH: i32 = 4096;

/// Calls `each` with the number and amount of every committed order in `schema`, by order
/// number.
pub fn each_order(url: &str, schema: &str, each: &mut dyn FnMut(u32, i64)) -> Result<(), SimError> {
    let mut conn = PgConn::open(url, schema)?;
    walk(
        conn.client(),
        "SELECT id, amount_cents FROM orders ORDER BY id",
        "reading committed orders",
        &mut |row| {
            let id: i32 = row.try_get(0)?;
            each(id as u32, row.try_get(1)?);
            Ok(())
        },
    )
}

/// Calls `each` with the order reference, the amount and how many charges of that amount the
/// billing tables in `schema` hold for it, grouped, by reference.
pub fn each_charge(
    url: &str,
    schema: &str,
    each: &mut dyn FnMut(&str, i64, u64),
) -> Result<(), SimError> {
    let mut conn = PgConn::open(url, schema)?;
    walk(
        conn.client(),
        "SELECT order_id, amount_cents, count(*) FROM charges
          GROUP BY order_id, amount_cents ORDER BY order_id, amount_cents",
        "reading charges",
        &mut |row| {
            let reference: &str = row.try_get(0)?;
            let count: i64 = row.try_get(2)?;
            each(reference, row.try_get(1)?, count.max(0) as u64);
            Ok(())
        },
    )
}

/// Runs `sql` through a portal, [`FETCH`] rows at a time, and hands each row to `each`.
fn walk(
    client: &mut Client,
    sql: &str,
    doing: &'static str,
    each: &mut dyn FnMut(&postgres::Row) -> Result<(), postgres::Error>,
) -> Result<(), SimError> {
    let result = (|| {
        let mut tx = client.build_transaction().read_only(true).start()?;
        let portal = tx.bind(sql, &[] as &[&(dyn ToSql + Sync)])?;
        loop {
            let rows = tx.query_portal(&portal, FETCH)?;
            for row in &rows {
                each(row)?;
            }
            if rows.len() < FETCH as usize {
                break;
            }
        }
        tx.commit()
    })();
    Ok(result.pg(doing)?)
}
