//! Compiles the built-in content pack (`drills/`, `scenarios/`) into the binary, so an installed
//! msgwork works from any directory, and the shipped samples (`fixtures/`), so evidence can tell
//! a learner's own work from a copy of one.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, wanted: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, wanted, out);
        } else if wanted(&path) {
            out.push(path);
        }
    }
}

/// Writes `OUT_DIR/NAME`: a `&[(path, text)]` of the files, each compiled in with `include_str!`.
fn list(root: &Path, mut files: Vec<PathBuf>, name: &str) {
    files.sort();
    let mut code = String::from("&[\n");
    for file in files {
        let relative = file.strip_prefix(root).expect("under the manifest dir");
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            relative.to_string_lossy(),
            file.to_string_lossy()
        ));
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(name);
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut content = Vec::new();
    for dir in ["scenarios", "drills"] {
        println!("cargo:rerun-if-changed={dir}");
        let toml = |p: &Path| p.extension().is_some_and(|e| e == "toml");
        collect(&root.join(dir), &toml, &mut content);
    }
    list(&root, content, "builtin_content.rs");

    // Every text file under fixtures/: whatever msgwork ships is a sample, not a learner's work.
    println!("cargo:rerun-if-changed=fixtures");
    let mut samples = Vec::new();
    let text = |p: &Path| std::fs::read(p).is_ok_and(|b| String::from_utf8(b).is_ok());
    collect(&root.join("fixtures"), &text, &mut samples);
    list(&root, samples, "shipped_samples.rs");
}
