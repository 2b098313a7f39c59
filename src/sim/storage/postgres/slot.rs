//! Dropping a replication slot, which a run that made one owes the server whatever way it ends.

use std::time::Duration;

/// Drops replication slot `name` if it exists: a slot nobody reads keeps the server's WAL
/// forever. A backend still reading it (one of an interrupted run's own connections) is ended
/// first, and the drop retried until the server has noticed.
pub fn drop_slot(client: &mut postgres::Client, name: &str) -> Result<(), postgres::Error> {
    let _ = client.execute(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
          WHERE slot_name = $1 AND active_pid IS NOT NULL",
        &[&name],
    );
    let drop = |client: &mut postgres::Client| {
        client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                  WHERE slot_name = $1",
                &[&name],
            )
            .map(|_| ())
    };
    for _ in 0..40 {
        if drop(client).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(client)
}
