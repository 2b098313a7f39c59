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

/// What a session's summary counts: each item once, by its latest attempt, with the learner's
/// own verdict where they overruled the grader (its marks follow that verdict), as `progress`
/// and the review schedule count it.
pub fn counted(attempts: &[(Graded, Option<Verdict>)]) -> Vec<Graded> {
    let mut out: Vec<Graded> = Vec::new();
    for (graded, own) in attempts {
        let mut graded = graded.clone();
        if let Some(own) = own {
            graded.verdict = *own;
            graded.score = own.credit() * graded.max;
        }
        match out.iter_mut().find(|g| g.id == graded.id) {
            Some(earlier) => *earlier = graded,
            None => out.push(graded),
        }
    }
    out
}

/// The items tried more than once in a session, each with its number of attempts.
pub fn retried(attempts: &[(Graded, Option<Verdict>)]) -> Vec<(&str, usize)> {
    let mut out: Vec<(&str, usize)> = Vec::new();
    for (graded, _) in attempts {
        match out.iter_mut().find(|(id, _)| *id == graded.id) {
            Some((_, n)) => *n += 1,
            None => out.push((&graded.id, 1)),
        }
    }
    out.retain(|(_, n)| *n > 1);
    out
}
