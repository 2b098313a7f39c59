//! The rubric the lab write-up is graded by, like a drill answer.

use crate::content::{self, Item, Pack, Source};

/// The write-up rubric, compiled in.
static WRITEUP: &str = include_str!("../../fixtures/writeup-rubric.toml");

/// The rubric for the lab write-up, with the built-in misconceptions.
pub fn writeup_rubric() -> Result<(Item, Pack), content::PackError> {
    let mut sources = vec![Source {
        name: "fixtures/writeup-rubric.toml".to_string(),
        text: WRITEUP,
    }];
    if let Some(catalogue) = content::builtin_source("drills/misconceptions.toml") {
        sources.push(catalogue);
    }
    let pack = content::parse_pack(&sources)?;
    let item = pack
        .items
        .first()
        .cloned()
        .ok_or_else(|| content::PackError {
            problems: Vec::new(),
        })?;
    Ok((item, pack))
}
