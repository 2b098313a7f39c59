//! Which items a session plays: the selection from `--section` and `--only`, what is due for
//! review, and starting the session so it can be resumed.

use anyhow::Result;

use super::clock::now;
use super::entry::{Entry, entries, find};
use super::error::DrillError;
use super::review::cards;
use crate::content::{Pack, Section};
use crate::store::Store;

/// Which items to list, play or grade; an empty list means every section, or every item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub sections: Vec<Section>,
    /// Item ids, matched case-insensitively.
    pub only: Vec<String>,
}

impl Selection {
    /// Whether the item `id` of `section` is selected.
    pub fn includes(&self, section: Section, id: &str) -> bool {
        (self.sections.is_empty() || self.sections.contains(&section))
            && (self.only.is_empty() || self.only.iter().any(|o| o.eq_ignore_ascii_case(id)))
    }
}

/// One item of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listed<'p> {
    pub section: Section,
    pub id: &'p str,
    pub title: &'p str,
}

/// The selected items by section, scenarios first, each section in the pack's order.
pub fn listing<'p>(pack: &'p Pack, selection: &Selection) -> Vec<Listed<'p>> {
    let mut rows: Vec<Listed<'p>> = pack
        .scenarios
        .iter()
        .map(|s| Listed {
            section: Section::Scenarios,
            id: s.id.as_str(),
            title: s.title.as_str(),
        })
        .chain(pack.items.iter().map(|i| Listed {
            section: i.section,
            id: i.id.as_str(),
            title: i.title.as_str(),
        }))
        .filter(|row| selection.includes(row.section, row.id))
        .collect();
    rows.sort_by_key(|row| row.section);
    rows
}

/// What a new session would play.
#[derive(Debug)]
pub enum Plan<'p> {
    /// These items, in order; the session is not started yet.
    Play(Vec<Entry<'p>>),
    /// Only due items were asked for and none is due: the one due next, if any has been
    /// answered, with the seconds until it is.
    NothingDue { next: Option<(String, i64)> },
}

/// Plans a new session over the selected items, or only those due for review when `due`.
pub fn plan<'p>(
    pack: &'p Pack,
    store: &Store,
    selection: &Selection,
    due: bool,
) -> Result<Plan<'p>> {
    let unknown: Vec<String> = selection
        .only
        .iter()
        .filter(|id| find(pack, id).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(DrillError::UnknownItems(unknown).into());
    }
    let mut entries: Vec<Entry<'p>> = entries(pack)
        .into_iter()
        .filter(|e| selection.includes(e.section(), e.id()))
        .collect();
    if due {
        let cards = cards(&store.history()?);
        let now = now();
        entries.retain(|e| cards.get(e.id()).is_some_and(|c| c.due <= now));
        if entries.is_empty() {
            let next = cards
                .iter()
                .min_by_key(|(_, c)| c.due)
                .map(|(id, card)| (id.clone(), card.due - now));
            return Ok(Plan::NothingDue { next });
        }
    }
    if entries.is_empty() {
        return Err(DrillError::NothingMatches.into());
    }
    Ok(Plan::Play(entries))
}

/// A session under way: its id in the store and the items it has left to play.
#[derive(Debug)]
pub struct Session<'p> {
    pub id: i64,
    pub entries: Vec<Entry<'p>>,
}

/// Starts an interactive session over `entries`, keeping its plan so it can be resumed.
pub fn start<'p>(store: &Store, entries: Vec<Entry<'p>>) -> Result<Session<'p>> {
    let plan: Vec<String> = entries.iter().map(|e| e.id().to_string()).collect();
    Ok(Session {
        id: store.start_session("interactive", &plan)?,
        entries,
    })
}
