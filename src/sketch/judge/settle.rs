//! How the relay settles a row it has handled, read from its order of effects: each place where
//! it marks a row sent or deletes it, and whether that comes after the publish (at-least-once),
//! before it (the event can be lost), or with no publish written down at all. The answer is the
//! shared list of `Settle`s that the mark-after-publish and anti-patterns items both read.

use super::design::Judge;
use super::shared::{Commit, Settle, SettleKind, SettleOrder};
use super::units::{Part, Region};
use crate::sketch::model::GroupKind;
use crate::sketch::statements::Head;
use crate::sketch::steps::{Effect, Step};

impl<'m> Judge<'m> {
    /// The settle a step is, if it marks or deletes the outbox's rows.
    pub(super) fn settle_kind(&self, s: &Step) -> Option<SettleKind> {
        let ob = self.ob();
        match &s.effect {
            Effect::Delete {
                table: Some(t),
                filter,
            } if t == ob && !self.retention_filter(filter) => Some(SettleKind::Delete),
            Effect::Delete { table: None, .. } => Some(SettleKind::Delete),
            Effect::Update { table, sets } if table == ob => sets
                .iter()
                .find(|(c, v)| self.is_mark(c, v))
                .map(|(c, _)| SettleKind::Mark {
                    col: Some(c.clone()),
                }),
            // Prose that marks rows sent, when the outbox has a marker to set.
            Effect::Mark if !self.roles.markers.is_empty() => Some(SettleKind::Mark { col: None }),
            _ => None,
        }
    }

    /// Where a step takes effect for good: the end of its transaction or routine, or its own end
    /// when it commits by itself. Prose takes effect at once, unless the prose before it in its
    /// unit opened a transaction ("with db.transaction():"): then at the next commit the prose
    /// names, or at the unit's end.
    /// `marks` are the prose's begins and commits in the unit, in order.
    fn commit_point(&self, s: &Step, marks: &[&Step], region_end: usize) -> usize {
        let unit = s.unit.and_then(|u| self.m.units.get(u));
        if let Some(u) = unit.filter(|u| !(u.head == Head::Pseudo && u.ast.is_none())) {
            return match self.m.group(u) {
                Some(g) if g.kind != GroupKind::Single => g.end,
                _ => u.end,
            };
        }
        if let Some(g) = self.group_at(s.at) {
            return g.end;
        }
        let i = marks.partition_point(|x| x.key < s.key);
        let open = i
            .checked_sub(1)
            .and_then(|j| marks.get(j))
            .is_some_and(|x| matches!(x.effect, Effect::Begin));
        if !open {
            return s.at;
        }
        marks
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .find(|x| x.key > s.key && matches!(x.effect, Effect::Commit))
            .map_or(unit.map_or(region_end, |u| u.end), |c| c.at)
    }

    /// Every settle in every relay unit, each placed against the publish.
    pub(super) fn find_settles(&self, regions: &[Region]) -> Vec<Settle> {
        let mut out = Vec::new();
        let claim_unit = self.claim.map(|c| c.unit);
        for r in regions.iter().filter(|r| r.part == Part::Relay) {
            let steps: Vec<&Step> = self.steps_in(r);
            let publishes: Vec<&Step> = steps
                .iter()
                .copied()
                .filter(|s| matches!(s.effect, Effect::Publish | Effect::Ack))
                .collect();
            let marks: Vec<&Step> = steps
                .iter()
                .copied()
                .filter(|s| matches!(s.effect, Effect::Begin | Effect::Commit))
                .collect();
            let claim_key = claim_unit
                .filter(|c| r.units.contains(c))
                .and_then(|c| self.m.units.get(c))
                .map(|u| (u.start, 0));
            for s in &steps {
                let Some(kind) = self.settle_kind(s) else {
                    continue;
                };
                // The claiming statement itself settles the rows (UPDATE ... RETURNING that
                // sets the marker, DELETE ... RETURNING).
                let claim = s.unit.is_some()
                    && s.unit == claim_unit
                    && s.unit
                        .and_then(|u| self.m.units.get(u))
                        .is_some_and(|u| u.facts.returning);
                let lower = claim_key.filter(|k| *k <= s.key).unwrap_or((r.from, 0));
                // Publishes are in order: those before the settle, then those after it.
                let i = publishes.partition_point(|p| p.key < s.key);
                let (earlier, later) = publishes.split_at(i.min(publishes.len()));
                let before = earlier.last().filter(|p| p.key > lower);
                // After the settle has committed, only a step of the procedure counts as
                // the publish that follows it, not a remark about the design.
                let settled = self.commit_point(s, &marks, r.to);
                let after = later
                    .iter()
                    .find(|p| p.key > s.key && (p.step || p.at < settled));
                let heading = publishes.first().filter(|p| p.key < lower);
                // A line that orders the settle against a publish itself ("delete the row
                // before publishing it") says more than the lines around it.
                let same_line = |p: &&&Step| p.key.0 == s.key.0 && p.unit == s.unit;
                let line_before = earlier
                    .iter()
                    .rev()
                    .take_while(|p| p.key.0 == s.key.0)
                    .find(same_line);
                let line_after = later
                    .iter()
                    .take_while(|p| p.key.0 == s.key.0)
                    .find(|p| same_line(p) && p.key > s.key);
                let (before, after) = match (line_before, line_after) {
                    (None, None) => (before, after),
                    pair => pair,
                };
                let order = if let Some(p) = before {
                    SettleOrder::AfterPublish(p.at)
                } else if let Some(p) = after {
                    SettleOrder::BeforePublish {
                        publish: Some(p.at),
                        commit: self.commit_before(s, p.at, &marks, r.to),
                    }
                } else if claim && matches!(kind, SettleKind::Mark { .. }) {
                    // A claim that marks its rows sent comes before any publish there can be.
                    SettleOrder::BeforePublish {
                        publish: None,
                        commit: Commit::First(self.commit_point(s, &marks, r.to)),
                    }
                } else if let Some(p) = heading {
                    SettleOrder::AfterPublish(p.at)
                } else {
                    SettleOrder::Unstated
                };
                out.push(Settle {
                    kind,
                    at: s.at,
                    unit: s.unit,
                    claim,
                    order,
                });
            }
        }
        // A comment that narrates the statement under it says the same thing twice: keep the
        // statement, and the prose only where it puts the settle before the publish.
        let sql_kinds: Vec<SettleKind> = out
            .iter()
            .filter(|s| s.unit.is_some())
            .map(|s| s.kind.clone())
            .collect();
        out.retain(|s| {
            s.unit.is_some()
                || s.before_publish()
                || !sql_kinds
                    .iter()
                    .any(|k| std::mem::discriminant(k) == std::mem::discriminant(&s.kind))
        });
        out
    }

    /// Whether a settle that comes before the publish at `publish` commits first: its
    /// transaction ends before the publish, or prose says it commits in between.
    fn commit_before(
        &self,
        s: &Step,
        publish: usize,
        steps: &[&Step],
        region_end: usize,
    ) -> Commit {
        let end = self.commit_point(s, steps, region_end);
        if end < publish {
            Commit::First(end)
        } else {
            Commit::Open(end)
        }
    }

    /// The settle the mark-after-publish item speaks of: one that can lose the event if there is
    /// one, else the first mark, else the first delete.
    pub(super) fn main_settle(&self) -> Option<&Settle> {
        let s = &self.settles;
        s.iter()
            .find(|x| {
                matches!(
                    x.order,
                    SettleOrder::BeforePublish {
                        commit: Commit::First(_),
                        ..
                    }
                )
            })
            .or_else(|| s.iter().find(|x| x.before_publish()))
            .or_else(|| {
                s.iter()
                    .find(|x| x.is_mark() && matches!(x.order, SettleOrder::AfterPublish(_)))
            })
            .or_else(|| s.iter().find(|x| x.is_mark()))
            .or_else(|| s.first())
    }
}
