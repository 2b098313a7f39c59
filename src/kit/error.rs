//! What can go wrong when a kit is chosen or written out, each error naming the path and what to
//! do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("there is no starter kit for {asked:?}; the kits are: {known}")]
    UnknownLanguage { asked: String, known: String },

    #[error(
        "cannot write the kit into {}: it is a file, not a directory; name a new or empty \
         directory",
        .dir.display()
    )]
    NotADirectory { dir: PathBuf },

    #[error(
        "refusing to write the kit into {}: {} already there, and msgwork never replaces your \
         files; name a new or empty directory, or move {} away",
        .dir.display(), list(.existing), if .existing.len() == 1 { "it" } else { "them" }
    )]
    Occupied {
        dir: PathBuf,
        existing: Vec<PathBuf>,
    },

    #[error("cannot write {}: {source}; name a directory you can write to", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// "a is", "a and b are", "a, b and c are".
fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match names.as_slice() {
        [] => "nothing is".to_string(),
        [one] => format!("{one} is"),
        [rest @ .., last] => format!("{} and {last} are", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_occupied_directory_names_every_file_in_the_way() {
        let one = KitError::Occupied {
            dir: "kit".into(),
            existing: vec!["kit/shop.py".into()],
        };
        assert_eq!(
            one.to_string(),
            "refusing to write the kit into kit: kit/shop.py is already there, and msgwork never \
             replaces your files; name a new or empty directory, or move it away"
        );
        let three = KitError::Occupied {
            dir: "kit".into(),
            existing: vec!["kit/a".into(), "kit/b".into(), "kit/c".into()],
        };
        assert!(
            three
                .to_string()
                .contains("kit/a, kit/b and kit/c are already there"),
            "{three}"
        );
        assert!(three.to_string().ends_with("move them away"), "{three}");
    }
}
