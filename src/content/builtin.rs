//! The built-in pack: the workshop's drills and scenarios, compiled into the binary.

use super::check::parse_pack;
use super::model::Pack;
use super::problem::{PackError, Source};

/// The built-in pack, compiled into the binary: `(path, text)`.
static BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_content.rs"));

/// The built-in pack. Its validity is enforced by the test suite.
pub fn builtin() -> Result<Pack, PackError> {
    let sources: Vec<Source<'_>> = BUILTIN
        .iter()
        .map(|(name, text)| Source {
            name: (*name).to_string(),
            text,
        })
        .collect();
    parse_pack(&sources)
}

/// One file of the built-in pack, by its path.
pub fn builtin_source(name: &str) -> Option<Source<'static>> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(name, text)| Source {
            name: format!("built-in {name}"),
            text,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::Section;

    #[test]
    fn the_builtin_pack_is_valid_and_complete() {
        let pack = match builtin() {
            Ok(pack) => pack,
            Err(err) => panic!(
                "{}",
                err.problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        let ids = |section: Section| -> Vec<String> {
            pack.items
                .iter()
                .filter(|i| i.section == section)
                .map(|i| i.id.clone())
                .collect()
        };
        assert_eq!(ids(Section::Retrieval), ["R1", "R2", "R3", "R4", "R5"]);
        assert_eq!(ids(Section::Compare), ["C1", "C2", "C3", "C4", "C5"]);
        assert_eq!(
            ids(Section::Mistakes),
            ["M1", "M2", "M3", "M4", "M5", "M6", "M7"]
        );
        assert!(ids(Section::Concepts).len() >= 12);
        let scenarios: Vec<&str> = pack.scenarios.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(scenarios, ["A", "B", "C", "D", "E"]);
    }
}
