//! The architecture as the compiler and the sources show it: no import cycles between the
//! modules of a crate, and the planner's crate free of the async runtime and HTTP.
//!
//! A cycle is counted between siblings: when module `a::x` refers to anything inside `a::y`,
//! that is an edge `x → y` among the children of `a`; the children of every module must form an
//! acyclic graph. References are read from `use` declarations and `crate::`/`super::`/`self::`
//! paths in the code, test modules (`#[cfg(test)] mod …`) left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo;

/// Module path → the file that holds it.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_str().unwrap().trim_end_matches(".rs").to_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        if parts.iter().any(|p| p.starts_with("tests")) || parts == ["bin"] {
            continue;
        }
        found.insert(parts, path.to_owned());
    }
    found
}

/// The code of a file without its test modules and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts with `crate`, `super` or `self`, `use` groups expanded.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `use` declarations (a line that starts one), braces expanded.
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let Some(tree) = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .find_map(|start| line.strip_prefix(start))
        else {
            continue;
        };
        let mut text = tree.to_owned();
        while !text.contains(';') {
            match lines.next() {
                Some(more) => text.push_str(more),
                None => break,
            }
        }
        let tree: String = text
            .split(';')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        expand("", &tree, &mut out);
    }
    // Paths written in the code.
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| bytes[i..].iter().take(p.len()).copied().eq(p.chars()));
        let boundary = i == 0
            || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        if let (Some(_), true) = (starts, boundary) {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_alphanumeric() || bytes[j] == '_' || bytes[j] == ':')
            {
                j += 1;
            }
            let text: String = bytes[i..j].iter().collect();
            out.push(
                text.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
            i = j;
        } else {
            i += 1;
        }
    }
    out.retain(|p| {
        matches!(
            p.first().map(String::as_str),
            Some("crate" | "super" | "self")
        )
    });
    out
}

/// Expands a `use` tree such as `crate::a::{b, c::{d}}` into its paths.
fn expand(prefix: &str, tree: &str, out: &mut Vec<Vec<String>>) {
    match tree.find('{') {
        None => {
            let full = format!("{prefix}{tree}");
            let full = full.split("as").next().unwrap_or("").to_owned();
            out.push(
                full.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        Some(open) => {
            let head = &tree[..open];
            let close = tree
                .rfind('}')
                .filter(|&close| close > open)
                .unwrap_or(tree.len());
            let inner = &tree[open + 1..close];
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{head}"), &inner[start..k], out);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand(&format!("{prefix}{head}"), &inner[start..], out);
            }
        }
    }
}

/// The module a path refers into, as seen from module `from`.
fn target(
    from: &[String],
    path: &[String],
    known: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = Vec::new();
    let mut segments = path.iter().peekable();
    match segments.next().map(String::as_str) {
        Some("crate") => {}
        Some("self") => base = from.to_vec(),
        Some("super") => {
            base = from.to_vec();
            base.pop();
            while segments.peek().map(|s| s.as_str()) == Some("super") {
                segments.next();
                base.pop();
            }
        }
        _ => return None,
    }
    for segment in segments {
        let mut next = base.clone();
        next.push(segment.clone());
        if known.contains_key(&next) {
            base = next;
        } else {
            break;
        }
    }
    Some(base)
}

/// The sibling cycles of one crate's sources, each as `parent: a → b → … → a`.
fn sibling_cycles(src: &Path) -> Vec<String> {
    let known = modules(src);
    // parent → child → children it refers to.
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &known {
        for path in paths(&code(file)) {
            let Some(to) = target(module, &path, &known) else {
                continue;
            };
            let common = module.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common < module.len() && common < to.len() {
                edges
                    .entry(module[..common].to_vec())
                    .or_default()
                    .entry(module[common].clone())
                    .or_default()
                    .insert(to[common].clone());
            }
        }
    }
    let mut cycles = Vec::new();
    for (parent, graph) in &edges {
        for start in graph.keys() {
            // Depth-first search for a way back to `start`.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((node, trail)) = stack.pop() {
                for next in graph.get(&node).into_iter().flatten() {
                    if next == start {
                        let mut shown = trail.clone();
                        shown.push(start.clone());
                        cycles.push(format!("{}: {}", parent.join("::"), shown.join(" → ")));
                    } else if seen.insert(next.clone()) {
                        let mut longer = trail.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    cycles
}

/// Every crate's source directory in the workspace.
fn crate_sources() -> Vec<PathBuf> {
    let mut sources = vec![repo().join("src")];
    if let Ok(entries) = std::fs::read_dir(repo().join("crates")) {
        for entry in entries {
            sources.push(entry.unwrap().path().join("src"));
        }
    }
    sources.retain(|src| src.is_dir());
    sources.sort();
    sources
}

#[test]
fn no_module_imports_its_siblings_in_a_circle() {
    let mut cycles = Vec::new();
    for src in crate_sources() {
        for cycle in sibling_cycles(&src) {
            cycles.push(format!("{}: {cycle}", src.display()));
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\n").unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod x;\nmod y;\nmod z;\n").unwrap();
    std::fs::write(src.join("a/x.rs"), "use super::y::Thing;\n").unwrap();
    std::fs::write(src.join("a/y.rs"), "use crate::a::{z::{Other}};\n").unwrap();
    std::fs::write(
        src.join("a/z.rs"),
        "fn f() { let _ = super::x::g(); }\n#[cfg(test)]\nmod tests { use super::super::y::T; }\n",
    )
    .unwrap();
    assert_eq!(
        sibling_cycles(src),
        ["a: x → y → z → x", "a: y → z → x → y", "a: z → x → y → z"]
    );
    std::fs::write(src.join("a/z.rs"), "fn f() {}\n").unwrap();
    assert!(sibling_cycles(src).is_empty());
}

/// The normal (non-dev) dependencies of a workspace crate, each package once: `cargo tree`.
fn dependencies(package: &str, depth: Option<u32>) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.current_dir(repo()).args([
        "tree",
        "--offline",
        "-e",
        "normal",
        "--prefix",
        "none",
        "-p",
        package,
    ]);
    if let Some(depth) = depth {
        command.args(["--depth", &depth.to_string()]);
    }
    let output = command.output().expect("running cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_planner_and_the_wire_crates_have_no_async_runtime_and_no_http() {
    for package in ["kvsync-plan", "kvsync-wire", "kvsync-secrets"] {
        let deps = dependencies(package, None);
        assert!(deps.contains(package), "{deps:?}");
        for banned in [
            "tokio",
            "reqwest",
            "hyper",
            "axum",
            "kvsync-client",
            "kvsync-emulator",
        ] {
            assert!(
                !deps.contains(banned),
                "{package} depends on {banned}: {deps:?}"
            );
        }
    }
}

#[test]
fn the_crates_depend_on_each_other_in_the_architecture_s_order() {
    let kvsync = |package: &str| -> BTreeSet<String> {
        dependencies(package, Some(1))
            .into_iter()
            .filter(|dep| dep.starts_with("kvsync") && dep != package)
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(kvsync("kvsync-secrets"), set(&[]));
    assert_eq!(kvsync("kvsync-wire"), set(&["kvsync-secrets"]));
    assert_eq!(
        kvsync("kvsync-plan"),
        set(&["kvsync-secrets", "kvsync-wire"])
    );
    assert_eq!(
        kvsync("kvsync-client"),
        set(&["kvsync-secrets", "kvsync-wire"])
    );
    assert_eq!(
        kvsync("kvsync-emulator"),
        set(&["kvsync-secrets", "kvsync-wire"])
    );
}
