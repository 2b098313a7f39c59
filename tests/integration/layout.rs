//! The shape of the house, checked: every source file small and opening with its role line, the
//! core free of the terminal, and no module importing, through any chain, a module that imports it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 1_000;

/// The edges: what may touch the terminal and decide nothing.
const EDGE: [&str; 6] = ["commands/", "ui/", "cli.rs", "cli/", "main.rs", "lib.rs"];

/// Names that mean the terminal: its crates, printing, and ending the process.
const TERMINAL: [&str; 11] = [
    "clap::",
    "dialoguer::",
    "indicatif::",
    "comfy_table::",
    "console::",
    "anstream::",
    "anstyle::",
    "ctrlc::",
    "println!",
    "eprintln!",
    "process::exit",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`, as (path relative to `dir`, text).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its comments and without the tests that follow `#[cfg(test)]`.
fn code(text: &str) -> String {
    let end = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_source_file_is_small_and_says_what_it_is_for() {
    let mut problems = Vec::new();
    for (dir, check_role) in [("src", true), ("tests", false)] {
        for (path, text) in sources(&root().join(dir)) {
            let lines = text.lines().count();
            if lines > MAX_LINES {
                problems.push(format!(
                    "{dir}/{path} has {lines} lines; split it by stage or role"
                ));
            }
            if check_role && !text.starts_with("//!") {
                problems.push(format!("{dir}/{path} does not open with a //! role line"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_core_never_touches_the_terminal() {
    let mut problems = Vec::new();
    for (path, text) in sources(&root().join("src")) {
        if EDGE.iter().any(|e| path.starts_with(e)) {
            continue;
        }
        let code = code(&text);
        for name in TERMINAL {
            if code.contains(name) {
                problems.push(format!(
                    "src/{path} uses {name}; the terminal belongs to commands/ and ui/"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A module's path from its file: `sim/crash/mod.rs` is `sim::crash`.
fn module_of(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths `text` names from `start` on: `a::b::c`, or each item of `a::{b, c::d}`.
fn paths_at(text: &str, start: usize, prefix: String, out: &mut Vec<String>) {
    let rest = &text[start..];
    let word: String = rest.chars().take_while(|&c| is_ident(c)).collect();
    let path = if prefix.is_empty() {
        word.clone()
    } else {
        format!("{prefix}::{word}")
    };
    let after = start + word.len();
    if text[after..].starts_with("::{") {
        // A group: each item separated by commas at this depth.
        let mut depth = 0;
        let mut item_start = after + 3;
        for (i, c) in text[after + 3..].char_indices() {
            let at = after + 3 + i;
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    group_item(text, item_start, at, &path, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    group_item(text, item_start, at, &path, out);
                    item_start = at + 1;
                }
                _ => {}
            }
        }
    } else if text[after..].starts_with("::") && !word.is_empty() {
        paths_at(text, after + 2, path, out);
    } else {
        out.push(path);
    }
}

fn group_item(text: &str, from: usize, to: usize, prefix: &str, out: &mut Vec<String>) {
    let item = &text[from..to];
    let skip = item.len() - item.trim_start().len();
    if !item.trim().is_empty() {
        paths_at(text, from + skip, prefix.to_string(), out);
    }
}

/// Every module a file's code names, resolved to the nearest module it lies in.
fn imports(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let children: Vec<&String> = modules
        .iter()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
        .map(|m| &m[module.len()])
        .collect();
    let mut named = Vec::new();
    for (i, _) in code.char_indices() {
        if i > 0 && (is_ident(code[..i].chars().last().unwrap()) || code[..i].ends_with(':')) {
            continue;
        }
        let rest = &code[i..];
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|s| rest.starts_with(s))
            || children
                .iter()
                .any(|k| rest.starts_with(k.as_str()) && rest[k.len()..].starts_with("::"));
        if starts {
            paths_at(code, i, String::new(), &mut named);
        }
    }
    let mut found = BTreeSet::new();
    for path in named {
        let mut segments = path.split("::").peekable();
        let mut full: Vec<String> = match segments.peek() {
            Some(&"crate") => {
                segments.next();
                Vec::new()
            }
            Some(&"super") | Some(&"self") => module.to_vec(),
            _ => module.to_vec(),
        };
        for segment in segments {
            match segment {
                "super" => {
                    full.pop();
                }
                "self" => {}
                s => full.push(s.to_string()),
            }
        }
        while !full.is_empty() && !modules.contains(&full) {
            full.pop();
        }
        if full != module {
            found.insert(full);
        }
    }
    found
}

/// The groups of nodes that reach each other (Tarjan), larger than one.
fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on: BTreeSet<N>,
        out: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(v: &N, edges: &BTreeMap<N, BTreeSet<N>>, s: &mut State<N>) {
        let i = s.index.len();
        s.index.insert(v.clone(), i);
        s.low.insert(v.clone(), i);
        s.stack.push(v.clone());
        s.on.insert(v.clone());
        for w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v.clone(), low);
            } else if s.on.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v.clone(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(&w);
                let done = &w == v;
                group.push(w);
                if done {
                    break;
                }
            }
            if group.len() > 1 {
                s.out.push(group);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            visit(v, edges, &mut state);
        }
    }
    state.out
}

#[test]
fn no_module_imports_its_way_back_to_itself() {
    let files = sources(&root().join("src"));
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut by_module = BTreeMap::new();
    let mut by_folder: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let folder = |m: &Vec<String>| {
        let path = &files.iter().find(|(p, _)| &module_of(p) == m).unwrap().0;
        path.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    };
    for (path, text) in &files {
        let module = module_of(path);
        let found = imports(&module, &code(text), &modules);
        let from = folder(&module);
        for target in &found {
            let to = folder(target);
            // A room may use the floor it stands on; two rooms must not use each other.
            if from != to && !to.is_empty() && !from.starts_with(&format!("{to}/")) {
                by_folder.entry(from.clone()).or_default().insert(to);
            }
        }
        by_module.insert(module, found);
    }
    let name = |m: &Vec<String>| {
        if m.is_empty() {
            "crate".to_string()
        } else {
            m.join("::")
        }
    };
    let mut problems: Vec<String> = cycles(&by_module)
        .iter()
        .map(|group| {
            let names: Vec<String> = group.iter().map(name).collect();
            format!(
                "these modules import each other in a circle: {}",
                names.join(", ")
            )
        })
        .collect();
    problems.extend(cycles(&by_folder).iter().map(|group| {
        format!(
            "these folders import each other in a circle: {}",
            group.join(", ")
        )
    }));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_import_reader_finds_groups_parents_and_children() {
    let modules: BTreeSet<Vec<String>> = [
        vec![],
        vec!["a".to_string()],
        vec!["a".to_string(), "b".to_string()],
        vec!["a".to_string(), "c".to_string()],
        vec!["d".to_string()],
    ]
    .into_iter()
    .collect();
    let a = vec!["a".to_string()];
    let found = imports(&a, "use b::X;\nfn f() { crate::d::g(); }", &modules);
    assert!(found.contains(&vec!["a".to_string(), "b".to_string()]));
    assert!(found.contains(&vec!["d".to_string()]));
    let ab = vec!["a".to_string(), "b".to_string()];
    let found = imports(&ab, "use super::{c::Y, Z};", &modules);
    assert!(found.contains(&vec!["a".to_string(), "c".to_string()]));
    assert!(
        found.contains(&a),
        "super::Z is the parent module's own item"
    );
    let edges: BTreeMap<u8, BTreeSet<u8>> = [(1, [2].into()), (2, [1].into()), (3, [1].into())]
        .into_iter()
        .collect();
    assert_eq!(cycles(&edges).len(), 1);
}
