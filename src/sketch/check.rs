//! The entry point: the sketch clipped to the size limit, built into a model, judged item by item
//! and run in the sandbox, with the verdict gathered into one report.

use std::path::Path;

use super::judge::Judge;
use super::limits::{MAX_FILE_BYTES, MAX_SOURCE_BYTES};
use super::model::{Flavor, Model};
use super::report::{Dialect, Options, ParseProblem, SketchReport, Status};
use crate::userfile::{self, Limit, ReadError, Text};

/// Reads the sketch the learner names (`-` for standard input): a regular text file within the
/// size limit.
pub fn read(path: &Path) -> Result<Text, ReadError> {
    let limit = Limit {
        max_bytes: MAX_FILE_BYTES,
        what: "an outbox sketch",
        expect: "a SQL file",
    };
    userfile::read(path, &limit)
}

/// Checks an outbox sketch as a whole, in the dialect its text shows. Never panics; any input
/// gets a report.
pub fn check(sql: &str) -> SketchReport {
    check_with(sql, &Options::default())
}

/// Checks an outbox sketch with the learner's options. Never panics; any input gets a report.
pub fn check_with(sql: &str, options: &Options) -> SketchReport {
    let (src, clipped) = clip(sql);
    let given = options.dialect.map(|d| match d {
        Dialect::Postgres => Flavor::Postgres,
        Dialect::Mysql => Flavor::Mysql,
        Dialect::Sqlite => Flavor::Sqlite,
    });
    let model = Model::build(src, given);
    let mut parse_problems = model.problems.clone();
    if clipped {
        let (line, column) = model.lines.pos(src, src.len());
        parse_problems.push(ParseProblem {
            line,
            column,
            message: format!(
                "the sketch is longer than {} KiB; only the first {} KiB were read",
                MAX_SOURCE_BYTES / 1024,
                MAX_SOURCE_BYTES / 1024
            ),
        });
    }
    let judge = Judge::new(&model, options.schema_only);
    let mut items = judge.items();
    items.push(judge.sandbox());
    let passed = items.iter().all(|i| !i.required || i.status == Status::Ok);
    SketchReport {
        dialect: model.flavor.name(),
        dialect_reason: model.flavor_reason.clone(),
        review: if options.schema_only {
            "schema"
        } else {
            "sketch"
        },
        items,
        passed,
        parse_problems,
    }
}

/// The sketch cut at `MAX_SOURCE_BYTES` (on a character boundary), and whether anything was cut.
fn clip(sql: &str) -> (&str, bool) {
    if sql.len() <= MAX_SOURCE_BYTES {
        return (sql, false);
    }
    let mut end = MAX_SOURCE_BYTES;
    while end > 0 && !sql.is_char_boundary(end) {
        end -= 1;
    }
    (sql.get(..end).unwrap_or(""), true)
}
