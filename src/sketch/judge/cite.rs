//! Citations: the value of each shared fact as items cite it, and an item stamped with the facts
//! it rests on. Every value comes from the one place the judge settled that fact.

use super::design::{ClaimKind, Judge};
use super::shared::Fact;
use crate::sketch::report::Item;
use crate::sketch::roles::Marker;

impl<'m> Judge<'m> {
    fn fact_value(&self, f: Fact) -> String {
        match f {
            Fact::Outbox => self
                .outbox_name
                .clone()
                .unwrap_or_else(|| "none".to_string()),
            Fact::WriteScope => self.write_scope.label().to_string(),
            Fact::Claim => match self.claim {
                None => "none".to_string(),
                Some(c) => {
                    let kind = match c.kind {
                        ClaimKind::Plain => "plain-read",
                        ClaimKind::LockNoSkip => "lock-without-skip",
                        ClaimKind::UpdateReturning => "update-returning",
                        ClaimKind::SkipLocked => "skip-locked",
                    };
                    let line = self.m.units.get(c.unit).map_or(0, |u| self.line(u.start));
                    format!("{kind} at line {line}")
                }
            },
            Fact::Cdc => self.cdc.clone().unwrap_or_else(|| "none".to_string()),
            Fact::Marker => {
                let list: Vec<String> = self
                    .marker_cols()
                    .iter()
                    .map(|(c, m)| {
                        let kind = match m {
                            Marker::Timestamp => "timestamp",
                            Marker::Flag => "flag",
                            Marker::Status => "status",
                        };
                        format!("{} ({kind})", c.name)
                    })
                    .collect();
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            }
            Fact::RelayIndex => self.index_fit.label().to_string(),
            Fact::Settle => {
                const SHOWN: usize = 6;
                let mut list: Vec<String> = self
                    .settles
                    .iter()
                    .take(SHOWN)
                    .map(|s| format!("{} at line {}", s.label(), self.line(s.at)))
                    .collect();
                if self.settles.len() > SHOWN {
                    let rest = self.settles.get(SHOWN..).unwrap_or(&[]);
                    let mut kinds: Vec<String> = rest.iter().map(|s| s.label()).collect();
                    kinds.sort();
                    kinds.dedup();
                    list.push(format!("{} more ({})", rest.len(), kinds.join(", ")));
                }
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            }
            Fact::Inbox => self
                .inbox
                .map_or_else(|| "none".to_string(), |t| t.name.clone()),
            Fact::ConsumerScope => self.consumer_scope.label().to_string(),
            Fact::Consumer => self.consumer_label(),
            Fact::File => self.file_label().to_string(),
        }
    }

    /// `it`, citing `facts`.
    pub(super) fn cited(&self, mut it: Item, facts: &[Fact]) -> Item {
        for &f in facts {
            it.facts.insert(f.name(), self.fact_value(f));
        }
        it
    }
}
