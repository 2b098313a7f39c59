//! How a session went, in numbers: marks earned and available, per section, and what to review.

use crate::content::Section;
use crate::grade::Verdict;
use crate::grade::item::Graded;

/// Marks earned and marks available.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tally {
    pub score: f64,
    pub max: f64,
}

impl Tally {
    /// The marks of these graded items, summed.
    pub fn of<'g>(graded: impl IntoIterator<Item = &'g Graded> + Clone) -> Tally {
        Tally {
            score: graded.clone().into_iter().map(|g| g.score).sum(),
            max: graded.into_iter().map(|g| g.max).sum(),
        }
    }

    /// The score as a percentage of the marks available; 0 when there were none.
    pub fn percent(self) -> f64 {
        if self.max > 0.0 {
            self.score / self.max * 100.0
        } else {
            0.0
        }
    }

    /// Whether the score reaches a pass mark, a percentage.
    pub fn passes(self, mark: f64) -> bool {
        self.percent() >= mark
    }
}

/// Each section that has graded items, in section order: how many, and their tally.
pub fn by_section(graded: &[Graded]) -> Vec<(Section, usize, Tally)> {
    Section::ALL
        .into_iter()
        .filter_map(|section| {
            let in_section: Vec<&Graded> = graded.iter().filter(|g| g.section == section).collect();
            (!in_section.is_empty()).then(|| {
                (
                    section,
                    in_section.len(),
                    Tally::of(in_section.iter().copied()),
                )
            })
        })
        .collect()
}

/// What to go over again: the items not answered correctly, then the ones skipped.
pub fn to_review<'a>(graded: &'a [Graded], skipped: &'a [String]) -> Vec<&'a str> {
    graded
        .iter()
        .filter(|g| g.verdict != Verdict::Correct)
        .map(|g| g.id.as_str())
        .chain(skipped.iter().map(String::as_str))
        .collect()
}
