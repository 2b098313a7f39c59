//! One thing to drill, scenario or free-text item, and finding it in a pack.

use crate::content::{Item, Pack, Scenario, Section};

/// One thing to drill.
#[derive(Clone, Copy, Debug)]
pub enum Entry<'p> {
    Scenario(&'p Scenario),
    Item(&'p Item),
}

impl<'p> Entry<'p> {
    pub fn id(self) -> &'p str {
        match self {
            Entry::Scenario(s) => &s.id,
            Entry::Item(i) => &i.id,
        }
    }

    pub fn section(self) -> Section {
        match self {
            Entry::Scenario(_) => Section::Scenarios,
            Entry::Item(i) => i.section,
        }
    }

    pub fn title(self) -> &'p str {
        match self {
            Entry::Scenario(s) => &s.title,
            Entry::Item(i) => &i.title,
        }
    }

    pub fn hints(self) -> &'p [String] {
        match self {
            Entry::Scenario(s) => &s.hints,
            Entry::Item(i) => &i.hints,
        }
    }
}

/// Every entry of the pack, scenarios first, then the sections in order.
pub fn entries(pack: &Pack) -> Vec<Entry<'_>> {
    pack.scenarios
        .iter()
        .map(Entry::Scenario)
        .chain(pack.items.iter().map(Entry::Item))
        .collect()
}

/// The entry with this id.
pub fn find<'p>(pack: &'p Pack, id: &str) -> Option<Entry<'p>> {
    entries(pack)
        .into_iter()
        .find(|e| e.id().eq_ignore_ascii_case(id))
}
