//! `msgwork starter`: write a starter kit (or its reference solution) for `msgwork verify` into a
//! directory, and say what to run next.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::context::{emit, emit_json};
use super::replay::shell_word;
use crate::Outcome;
use crate::cli::StarterArgs;
use crate::kit::{self, KITS, Kit, Variant};

pub fn run(args: &StarterArgs) -> Result<Outcome> {
    if args.list {
        return list(args.json);
    }
    // clap requires both unless --list is given.
    let (Some(language), Some(dir)) = (&args.language, &args.dir) else {
        anyhow::bail!("name a language and a directory: msgwork starter python my-outbox");
    };
    let kit = kit::find(language)?;
    let variant = if args.solution {
        Variant::Solution
    } else {
        Variant::Starter
    };
    let written = kit::write_files(kit.files(variant), dir)?;
    let next = next_command(kit, dir);
    if args.json {
        emit_json(&json!({
            "schema_version": 1,
            "language": kit.language,
            "variant": variant,
            "spoils_exercise": variant == Variant::Solution,
            "dir": dir.display().to_string(),
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "next_command": next,
        }))?;
        return Ok(Outcome::Success);
    }
    let mut out = match variant {
        Variant::Starter => format!(
            "Wrote the {} starter kit into {}:\n",
            kit.language,
            dir.display()
        ),
        Variant::Solution => format!(
            "Wrote the {} reference solution into {}:\n",
            kit.language,
            dir.display()
        ),
    };
    let files = kit.files(variant);
    let width = written
        .iter()
        .map(|p| p.display().to_string().len())
        .max()
        .unwrap_or(0);
    for (path, file) in written.iter().zip(files) {
        let shown = path.display().to_string();
        out.push_str(&format!("  {shown:width$}  {}\n", file.about));
    }
    let run = if kit.build.is_empty() {
        "run it"
    } else {
        "build and run it"
    };
    match variant {
        Variant::Starter => out.push_str(&format!(
            "\nNext, {run} under kills and watch an event go missing:\n  {next}\nThen read {} \
             for step 1.\n",
            dir.join("README.md").display()
        )),
        Variant::Solution => out.push_str(&format!(
            "\nThis is the exercise done: reading it before you have tried the steps yourself \
             spoils them.\nTo see it hold under kills, {run}:\n  {next}\n"
        )),
    }
    emit(&out)?;
    Ok(Outcome::Success)
}

/// `msgwork starter --list`: every kit, with what it needs and the files of each variant.
fn list(json: bool) -> Result<Outcome> {
    let names = |kit: &Kit, variant| {
        kit.files(variant)
            .iter()
            .map(|f| f.path)
            .collect::<Vec<_>>()
    };
    if json {
        let kits: Vec<_> = KITS
            .iter()
            .map(|kit| {
                json!({
                    "language": kit.language,
                    "needs": kit.needs,
                    "starter": names(kit, Variant::Starter),
                    "solution": names(kit, Variant::Solution),
                })
            })
            .collect();
        emit_json(&json!({"schema_version": 1, "kits": kits}))?;
        return Ok(Outcome::Success);
    }
    let mut out = String::from("Starter kits for msgwork verify:\n");
    let width = KITS.iter().map(|k| k.language.len()).max().unwrap_or(0);
    for kit in KITS {
        out.push_str(&format!(
            "  {:width$}  needs {}; writes {}\n",
            kit.language,
            kit.needs,
            names(kit, Variant::Starter).join(", ")
        ));
    }
    out.push_str(
        "\nWrite one with: msgwork starter LANGUAGE DIR\nAdd --solution for the reference \
         solution, which spoils the exercise.\n",
    );
    emit(&out)?;
    Ok(Outcome::Success)
}

/// The shell command that checks the kit in `dir`, building it first when it needs building.
fn next_command(kit: &Kit, dir: &Path) -> String {
    let line = |words: Vec<String>| {
        words
            .iter()
            .map(|w| shell_word(w))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let verify = format!("msgwork verify -- {}", line(kit.program_command(dir)));
    let build = kit.build_command(dir);
    if build.is_empty() {
        verify
    } else {
        format!("{} && {verify}", line(build))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_command_runs_the_kit_where_it_was_written() {
        let kit = kit::find("python").unwrap();
        assert_eq!(
            next_command(kit, Path::new("my outbox")),
            "msgwork verify -- python3 'my outbox/shop.py'"
        );
        assert_eq!(
            next_command(kit::find("rust").unwrap(), Path::new("k")),
            "cargo build --release --manifest-path k/Cargo.toml && msgwork verify -- \
             k/target/release/shop"
        );
    }
}
