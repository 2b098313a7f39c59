//! An instructor's pack set against the built-in one: every item, scenario and misconception id
//! the pack defines again, with the file and line that does it.

use super::model::Pack;
use super::problem::{Problem, ProblemKind};

/// Each id of `pack` that `builtin` defines too, as a problem at the line that defines it.
/// `files` are the pack's own files, `(name, text)`, where the ids are looked up.
pub fn overrides(files: &[(String, String)], pack: &Pack, builtin: &Pack) -> Vec<Problem> {
    let mut found = Vec::new();
    let mut say = |what: &str, id: &str, file: &str| {
        let (file, line) = defined_at(files, file, id);
        found.push(Problem {
            file,
            line,
            column: 1,
            kind: ProblemKind::OverridesBuiltin,
            message: format!(
                "{what} '{id}' is also a built-in {what}: played with --content, this one replaces it"
            ),
            fix: format!(
                "give it an id of its own (such as '{id}-2') to add a {what}, or pass --override to replace the built-in one on purpose"
            ),
        });
    };
    for item in &pack.items {
        if builtin.items.iter().any(|b| b.id == item.id) {
            say("item", &item.id, &item.source);
        }
    }
    for scenario in &pack.scenarios {
        if builtin.scenarios.iter().any(|b| b.id == scenario.id) {
            say("scenario", &scenario.id, &scenario.source);
        }
    }
    // A pack without a catalogue leans on the built-in one: only its own definitions count.
    for id in pack.misconceptions.keys() {
        if !builtin.misconceptions.contains_key(id) {
            continue;
        }
        if let Some((name, _)) = files
            .iter()
            .find(|(_, text)| text.contains("[[misconception]]") && id_line(text, id).is_some())
        {
            say("misconception", id, name);
        }
    }
    found
}

/// The file (as named) and 1-based line where `id = "…"` defines `id`; line 0 if not found.
fn defined_at(files: &[(String, String)], file: &str, id: &str) -> (String, usize) {
    let line = files
        .iter()
        .find(|(name, _)| name == file)
        .and_then(|(_, text)| id_line(text, id))
        .unwrap_or(0);
    (file.to_string(), line)
}

/// The 1-based line of `id = "<id>"` in `text`.
fn id_line(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim();
            line.strip_prefix("id")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
                .map(|value| value.trim().trim_matches(['"', '\'']) == id)
                .unwrap_or(false)
        })
        .map(|n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Source, builtin, parse_pack};

    const R1_AGAIN: &str = "format_version = 1\nid = \"R1\"\nsection = \"retrieval\"\ntitle = \"t\"\nprompt = \"p\"\nmodel_answer = \"m\"\n[[concepts]]\nid = \"c\"\nsays = \"s\"\nmatch = [\"x\"]\n";
    const MINE: &str = "format_version = 1\nid = \"Q1\"\nsection = \"retrieval\"\ntitle = \"t\"\nprompt = \"p\"\nmodel_answer = \"m\"\n[[concepts]]\nid = \"c2\"\nsays = \"s\"\nmatch = [\"x\"]\n";

    #[test]
    fn a_redefined_builtin_id_is_found_at_its_line_and_a_new_one_is_not() {
        let files = vec![
            ("pack/retrieval/r1.toml".to_string(), R1_AGAIN.to_string()),
            ("pack/retrieval/q1.toml".to_string(), MINE.to_string()),
        ];
        let sources: Vec<Source<'_>> = files
            .iter()
            .map(|(name, text)| Source {
                name: name.clone(),
                text,
            })
            .collect();
        let pack = parse_pack(&sources).unwrap();
        let found = overrides(&files, &pack, &builtin().unwrap());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].file.as_str(), found[0].line),
            ("pack/retrieval/r1.toml", 2)
        );
        assert!(
            found[0].message.contains("item 'R1'"),
            "{}",
            found[0].message
        );
        assert!(found[0].fix.contains("--override"));
    }
}
