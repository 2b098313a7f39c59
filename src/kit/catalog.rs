//! Every kit msgwork ships, with its files compiled in from `kits/`: adding a language is adding
//! its folders there and one entry to [`KITS`].

use std::path::Path;

use super::error::KitError;

/// One file of a kit, as it is written into the learner's directory.
#[derive(Debug)]
pub struct KitFile {
    /// Where the file goes inside the kit's directory, with `/` between folders.
    pub path: &'static str,
    /// What the file is for, in a few words, for listings.
    pub about: &'static str,
    pub text: &'static str,
}

/// One word of a command that runs or builds a kit.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    /// Said as it is, such as `python3`.
    Plain(&'static str),
    /// A path inside the kit's directory, with `/` between folders.
    InKit(&'static str),
}

/// A starter kit: the naive program a learner fixes step by step, and its reference solution.
#[derive(Debug)]
pub struct Kit {
    /// The name the learner types: `msgwork starter python DIR`.
    pub language: &'static str,
    /// What the learner needs installed, in a few words.
    pub needs: &'static str,
    pub starter: &'static [KitFile],
    pub solution: &'static [KitFile],
    /// The command that builds the program first, for a compiled language; empty otherwise.
    pub build: &'static [Arg],
    /// The command `msgwork verify` runs once per role.
    pub program: &'static [Arg],
}

/// Which of a kit's two versions to write out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The naive program and the steps to fix it: the exercise.
    Starter,
    /// The program with every step done, which spoils the exercise.
    Solution,
}

impl Kit {
    pub fn files(&self, variant: Variant) -> &'static [KitFile] {
        match variant {
            Variant::Starter => self.starter,
            Variant::Solution => self.solution,
        }
    }

    /// The build command for the kit written into `dir`, as words; empty when there is none.
    pub fn build_command(&self, dir: &Path) -> Vec<String> {
        words(self.build, dir)
    }

    /// The command `msgwork verify` should run for the kit written into `dir`, as words.
    pub fn program_command(&self, dir: &Path) -> Vec<String> {
        words(self.program, dir)
    }
}

/// The words of a command, with paths inside the kit joined onto `dir`. A path that is not
/// valid Unicode is shown with replacement characters: the words are for showing the learner.
fn words(args: &[Arg], dir: &Path) -> Vec<String> {
    // `./-kit/shop.py`, so that a program never takes the path for an option.
    let dir = if dir.to_string_lossy().starts_with('-') {
        Path::new(".").join(dir)
    } else {
        dir.to_path_buf()
    };
    args.iter()
        .map(|arg| match arg {
            Arg::Plain(word) => (*word).to_string(),
            Arg::InKit(path) => path
                .split('/')
                .fold(dir.clone(), |at, part| at.join(part))
                .to_string_lossy()
                .into_owned(),
        })
        .collect()
}

/// The page every kit carries, so a learner has the wire protocol beside their code.
const PROTOCOL: KitFile = KitFile {
    path: "PROTOCOL.md",
    about: "the wire protocol between msgwork and your program",
    text: include_str!("../../docs/verify-protocol.md"),
};

/// Every kit, in the order `msgwork starter --list` shows them.
pub const KITS: &[Kit] = &[
    Kit {
        language: "python",
        needs: "Python 3, standard library only",
        starter: &[
            KitFile {
                path: "shop.py",
                about: "your service, relay and consumer: the naive dual write",
                text: include_str!("../../kits/python/shop.py"),
            },
            KitFile {
                path: "README.md",
                about: "the four steps from a lost event to an outbox that holds",
                text: include_str!("../../kits/python/README.md"),
            },
            PROTOCOL,
        ],
        solution: &[
            KitFile {
                path: "shop.py",
                about: "the reference solution, every step done",
                text: include_str!("../../kits/python-solution/shop.py"),
            },
            KitFile {
                path: "README.md",
                about: "why the solution holds wherever it is killed",
                text: include_str!("../../kits/python-solution/README.md"),
            },
            PROTOCOL,
        ],
        build: &[],
        program: &[Arg::Plain("python3"), Arg::InKit("shop.py")],
    },
    Kit {
        language: "rust",
        needs: "the Rust toolchain (SQLite is compiled in)",
        starter: &[
            KitFile {
                path: "src/main.rs",
                about: "your service, relay and consumer: the naive dual write",
                text: include_str!("../../kits/rust/src/main.rs"),
            },
            // Kept as Cargo.toml.kit in msgwork's tree: a Cargo.toml there would make Cargo
            // leave the folder out of msgwork's own package.
            KitFile {
                path: "Cargo.toml",
                about: "the package: rusqlite (bundled SQLite) and serde_json",
                text: include_str!("../../kits/rust/Cargo.toml.kit"),
            },
            KitFile {
                path: "Cargo.lock",
                about: "the dependency versions the kit was tested with",
                text: include_str!("../../kits/rust/Cargo.lock"),
            },
            KitFile {
                path: "README.md",
                about: "the four steps from a lost event to an outbox that holds",
                text: include_str!("../../kits/rust/README.md"),
            },
            PROTOCOL,
        ],
        solution: &[
            KitFile {
                path: "src/main.rs",
                about: "the reference solution, every step done",
                text: include_str!("../../kits/rust-solution/src/main.rs"),
            },
            KitFile {
                path: "Cargo.toml",
                about: "the package: rusqlite (bundled SQLite) and serde_json",
                text: include_str!("../../kits/rust-solution/Cargo.toml.kit"),
            },
            KitFile {
                path: "Cargo.lock",
                about: "the dependency versions the kit was tested with",
                text: include_str!("../../kits/rust-solution/Cargo.lock"),
            },
            KitFile {
                path: "README.md",
                about: "why the solution holds wherever it is killed",
                text: include_str!("../../kits/rust-solution/README.md"),
            },
            PROTOCOL,
        ],
        build: &[
            Arg::Plain("cargo"),
            Arg::Plain("build"),
            Arg::Plain("--release"),
            Arg::Plain("--manifest-path"),
            Arg::InKit("Cargo.toml"),
        ],
        program: &[Arg::InKit("target/release/shop")],
    },
];

/// The kit for `language`, named case-insensitively.
pub fn find(language: &str) -> Result<&'static Kit, KitError> {
    KITS.iter()
        .find(|kit| kit.language.eq_ignore_ascii_case(language.trim()))
        .ok_or_else(|| KitError::UnknownLanguage {
            asked: language.to_string(),
            known: KITS
                .iter()
                .map(|kit| kit.language)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_found_whatever_their_case_and_others_are_refused_with_the_list() {
        assert_eq!(find("Python").unwrap().language, "python");
        let err = find("cobol").unwrap_err().to_string();
        assert_eq!(
            err,
            "there is no starter kit for \"cobol\"; the kits are: python, rust"
        );
    }

    #[test]
    fn every_kit_has_distinct_safe_paths_and_its_program_among_its_files() {
        for kit in KITS {
            for variant in [Variant::Starter, Variant::Solution] {
                let files = kit.files(variant);
                let mut paths: Vec<&str> = files.iter().map(|f| f.path).collect();
                paths.sort_unstable();
                paths.dedup();
                assert_eq!(paths.len(), files.len(), "{} repeats a path", kit.language);
                for path in &paths {
                    assert!(
                        !path.is_empty()
                            && !path.starts_with('/')
                            && path
                                .split('/')
                                .all(|p| !p.is_empty() && p != ".." && p != "."),
                        "{} {variant:?}: {path} must be a plain relative path",
                        kit.language
                    );
                }
                // A compiled program appears only once built; everything else must be shipped.
                let program = if kit.build.is_empty() {
                    kit.program
                } else {
                    &[]
                };
                for arg in program.iter().chain(kit.build) {
                    if let Arg::InKit(path) = arg {
                        assert!(
                            paths.contains(path),
                            "{} {variant:?} needs {path}, which it does not ship",
                            kit.language
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_starter_and_the_solution_differ_in_the_program_and_share_the_protocol() {
        for kit in KITS {
            let program = |variant| {
                kit.files(variant)
                    .iter()
                    .find(|f| f.path == "shop.py" || f.path == "src/main.rs")
                    .map(|f| f.text)
            };
            assert_ne!(program(Variant::Starter), program(Variant::Solution));
            for variant in [Variant::Starter, Variant::Solution] {
                assert!(kit.files(variant).iter().any(|f| f.path == "PROTOCOL.md"));
            }
        }
    }

    #[test]
    fn commands_join_kit_paths_onto_the_directory() {
        let kit = find("python").unwrap();
        assert_eq!(
            kit.program_command(Path::new("my kit")),
            ["python3", "my kit/shop.py"]
        );
        assert!(kit.build_command(Path::new("my kit")).is_empty());
        let rust = find("rust").unwrap();
        assert_eq!(
            rust.build_command(Path::new("k")),
            [
                "cargo",
                "build",
                "--release",
                "--manifest-path",
                "k/Cargo.toml"
            ]
        );
        assert_eq!(
            rust.program_command(Path::new("k")),
            ["k/target/release/shop"]
        );
        assert_eq!(
            kit.program_command(Path::new("-kit")),
            ["python3", "./-kit/shop.py"]
        );
    }
}
