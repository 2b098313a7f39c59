//! Carrying on a stopped session: the items its plan has left, and what it has saved so far.

use anyhow::Result;

use super::entry::{Entry, find};
use super::error::DrillError;
use super::plan::Session;
use crate::content::Pack;
use crate::store::Store;

/// The stopped session with the items of its plan not yet answered, in plan order. A scenario
/// begun keeps its saved choices: playing it asks only what is left.
pub fn resume<'p>(pack: &'p Pack, store: &Store) -> Result<Session<'p>> {
    let Some((id, plan)) = store.unfinished_session()? else {
        return Err(DrillError::NoStoppedSession.into());
    };
    let answered = store.answered_in(id)?;
    let entries: Vec<Entry<'_>> = plan
        .iter()
        .filter(|id| !answered.contains(id))
        .filter_map(|id| find(pack, id))
        .collect();
    Ok(Session { id, entries })
}

/// How many answers a session has saved.
pub fn saved(store: &Store, session: i64) -> Result<usize> {
    Ok(store.answered_in(session)?.len())
}
