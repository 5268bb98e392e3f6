//! The shape of the code: no import circles between modules, so that every arrow between
//! the pipeline's stages points one way.
//!
//! A module's dependencies are the modules its paths name: `use crate::a::b`, `use
//! super::c`, inline `crate::a::f(..)`, `super::c::g(..)` and `child::h(..)`. A path is
//! resolved to the deepest module it names (`crate::text::money` is `text`).
//! References between a module and its own ancestors are left out: a child using its
//! parent's shared helpers and a parent dispatching to its children are the ordinary
//! shape of a Rust module tree. What remains must have no cycle.
//!
//! Run `cargo test --release --locked --test it layout:: -- --nocapture` to see every circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`commands::predict`, "" for the crate root) to its file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            // The binary's root is not part of the library's tree.
            if rel == Path::new("main") {
                continue;
            }
            found.insert(parts.join("::"), path);
        }
    }
    found
}

/// `text` without comments and string literals, so that neither names a module.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '{'.
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every path in `code` that starts at `crate`, `super` or `self`, or at one of
/// `children` (a bare child module name), with `use` trees' braces expanded.
fn paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let words: Vec<char> = code.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < words.len() {
        if !ident(words[i]) || (i > 0 && (ident(words[i - 1]) || words[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < words.len() && ident(words[i]) {
            i += 1;
        }
        let first: String = words[start..i].iter().collect();
        let rooted = matches!(first.as_str(), "crate" | "super" | "self");
        if !(rooted || children.contains(&first)) {
            continue;
        }
        if words.get(i) != Some(&':') || words.get(i + 1) != Some(&':') {
            continue;
        }
        let (tree, end) = use_tree(&words, i + 2);
        for mut p in tree {
            p.insert(0, first.clone());
            out.push(p);
        }
        i = end;
    }
    out
}

/// The paths of a use tree (or an inline path) starting at `i`: `a::b`, `{a, b::{c, d}}`.
fn use_tree(w: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while w.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    if w.get(i) == Some(&'{') {
        let mut all = Vec::new();
        i += 1;
        loop {
            while w.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                i += 1;
            }
            match w.get(i) {
                None => return (all, i),
                Some('}') => return (all, i + 1),
                _ => {}
            }
            let (sub, end) = use_tree(w, i);
            all.extend(sub);
            // Skip `as name` and anything up to the next item.
            i = end;
            while w.get(i).is_some_and(|&c| c != ',' && c != '}') {
                i += 1;
            }
        }
    }
    let start = i;
    while w.get(i).is_some_and(|&c| ident(c)) {
        i += 1;
    }
    let name: String = w[start..i].iter().collect();
    if name.is_empty() {
        return (vec![Vec::new()], i);
    }
    if w.get(i) == Some(&':') && w.get(i + 1) == Some(&':') {
        let (subs, end) = use_tree(w, i + 2);
        let subs = subs
            .into_iter()
            .map(|mut p| {
                p.insert(0, name.clone());
                p
            })
            .collect();
        return (subs, end);
    }
    (vec![vec![name]], i)
}

/// The module a path written in `module` names: the deepest module along it.
fn resolve(module: &str, path: &[String], known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut at: Vec<String> = match module {
        "" => Vec::new(),
        m => m.split("::").map(str::to_string).collect(),
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            rest = &rest[1..];
        }
        _ => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        at.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
    }
    let mut best = at.join("::");
    for part in rest {
        at.push(part.clone());
        let name = at.join("::");
        if known.contains_key(&name) {
            best = name;
        } else {
            break;
        }
    }
    Some(best)
}

/// Whether `a` is `b` or one of its ancestors (the crate root is everyone's).
fn ancestor_or_self(a: &str, b: &str) -> bool {
    a.is_empty() || a == b || b.starts_with(&format!("{a}::"))
}

/// Module dependencies, ancestors left out.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &known {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let prefix = if module.is_empty() {
            String::new()
        } else {
            format!("{module}::")
        };
        let children: BTreeSet<String> = (known.keys())
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|k| !k.is_empty() && !k.contains("::"))
            .map(str::to_string)
            .collect();
        let targets = edges.entry(module.clone()).or_default();
        for p in paths(&code, &children) {
            let Some(target) = resolve(module, &p, &known) else {
                continue;
            };
            if ancestor_or_self(&target, module) || ancestor_or_self(module, &target) {
                continue;
            }
            targets.insert(target);
        }
    }
    edges
}

/// The graph's circles: each strongly connected set of two or more modules (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                set.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                set.sort();
                s.out.push(set);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// The crate's `src/`, or the tree `GRUF_LAYOUT_SRC` names (to look at another checkout).
fn src() -> PathBuf {
    match std::env::var_os("GRUF_LAYOUT_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

/// The stages `lib.rs` declares, in its order: `pub mod error;` ... `pub mod commands;`.
fn stages(src: &Path) -> Vec<String> {
    let lib = code_only(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    (lib.lines())
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').trim().to_string())
        .collect()
}

/// Every edge from a module to a module of a stage declared after its own stage in
/// `lib.rs`: `(from, to)`.
fn back_edges(
    order: &[String],
    edges: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<(String, String)> {
    let rank = |m: &str| {
        let stage = m.split("::").next().unwrap_or("");
        order.iter().position(|s| s == stage)
    };
    let mut back = Vec::new();
    for (from, targets) in edges {
        for to in targets {
            if let (Some(f), Some(t)) = (rank(from), rank(to)) {
                if t > f {
                    back.push((from.clone(), to.clone()));
                }
            }
        }
    }
    back
}

/// Every arrow points down the pipeline: no module uses a stage declared after its own
/// in `lib.rs`, no module is left out of that list, and no modules form a circle.
#[test]
fn every_arrow_points_down_the_pipeline() {
    let src = src();
    let order = stages(&src);
    let top: BTreeSet<String> = (modules(&src).keys())
        .filter_map(|m| m.split("::").next())
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    let undeclared: Vec<&String> = top.iter().filter(|m| !order.contains(m)).collect();
    assert!(
        undeclared.is_empty(),
        "modules lib.rs does not declare as a stage: {undeclared:?}"
    );
    let edges = graph(&src);
    let back = back_edges(&order, &edges);
    for (from, to) in &back {
        println!("back edge: {from} -> {to}");
    }
    let found = circles(&edges);
    for c in &found {
        println!("import circle: {}", c.join(" <-> "));
    }
    assert!(
        back.is_empty() && found.is_empty(),
        "{} back edge(s) and {} import circle(s): see above (stages in lib.rs order: {})",
        back.len(),
        found.len(),
        order.join(", ")
    );
}

/// The finder finds: a circle written into a small tree is reported, and the same tree
/// without the back edge has none.
#[test]
fn a_circle_is_found_and_a_tree_without_one_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("commands")).unwrap();
    let write = |p: &str, text: &str| std::fs::write(src.join(p), text).unwrap();
    write("lib.rs", "mod a;\nmod b;\nmod commands;\n");
    write("a.rs", "use crate::b::thing;\n");
    write(
        "b.rs",
        "// crate::a::not_a_use\npub fn thing() { let _ = \"crate::a\"; }\n",
    );
    write("commands/mod.rs", "mod x;\nmod y;\nfn run() { x::go(); }\n");
    write(
        "commands/x.rs",
        "use super::{y::{go as g}, helper};\npub fn go() {}\n",
    );
    write("commands/y.rs", "pub fn go() { crate::a::f(); }\n");
    assert_eq!(circles(&graph(src)), Vec::<Vec<String>>::new());
    write("b.rs", "pub fn thing() { crate::a::f(); }\n");
    write("commands/y.rs", "use super::x;\npub fn go() {}\n");
    assert_eq!(
        circles(&graph(src)),
        vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["commands::x".to_string(), "commands::y".to_string()],
        ]
    );
}

/// The back-edge finder finds: in a tree whose lib.rs declares `low` before `high`, a use
/// of `high` from `low` is reported and the same tree with the arrow pointing down is not.
#[test]
fn a_back_edge_is_found_and_a_downward_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("high")).unwrap();
    let write = |p: &str, text: &str| std::fs::write(src.join(p), text).unwrap();
    write("lib.rs", "pub mod low;\npub mod high;\n");
    write("low.rs", "pub fn f() {}\n");
    write("high/mod.rs", "pub mod part;\n");
    write("high/part.rs", "use crate::low::f;\npub fn g() { f() }\n");
    assert_eq!(stages(src), ["low", "high"]);
    assert_eq!(
        back_edges(&stages(src), &graph(src)),
        Vec::<(String, String)>::new()
    );
    write("low.rs", "pub fn f() { crate::high::part::g() }\n");
    assert_eq!(
        back_edges(&stages(src), &graph(src)),
        vec![("low".to_string(), "high::part".to_string())]
    );
}
