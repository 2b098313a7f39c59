//! Drill content as versioned data: the built-in pack and instructors' packs, parsed from text,
//! validated with every problem reported by file, line and fix.

mod builtin;
mod check;
mod dir;
mod fields;
mod file;
mod lexicon;
mod model;
mod overrides;
pub mod pattern;
mod problem;
pub mod text;
mod walk;

pub use builtin::{builtin, builtin_source};
pub use check::{FORMAT_VERSION, parse_pack};
pub use dir::{PackFiles, read_dir};
pub use model::{
    Choice, Concept, Item, Misconception, OtherAnswer, Pack, Question, Rubric, Scenario, Section,
};
pub use overrides::overrides;
pub use problem::{PackError, Problem, ProblemKind, Source};
