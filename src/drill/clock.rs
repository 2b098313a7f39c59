//! The session's clock: answers and review schedules are stamped with it.

/// Now, in unix seconds. `MSGWORK_NOW` overrides it, so review schedules can be tested.
pub fn now() -> i64 {
    if let Some(now) = std::env::var("MSGWORK_NOW")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return now;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
