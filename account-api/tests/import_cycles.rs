//! No module of the account API imports another that imports it back,
//! directly or through others (issue 10, section 3).
//!
//! A circle hides the layers: once `routes` and `rules` import each other,
//! nothing stops a rule from reaching for a handler's extractors, and the
//! folder no longer says which way a request flows. The check reads every
//! `crate::` and `super::` path in `src/` (outside `#[cfg(test)]` modules),
//! maps each to the longest module it names, and fails naming the circle.
//! It is a plain text scan, not a compiler: it needs no dependency, and a
//! path it cannot read is one it does not count.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module path (`""` for the crate root, `rules::sms`) to its source.
type Sources = BTreeMap<String, String>;

/// Module path to the modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn module_path(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    match stem {
        // The binary is its own crate: it reaches the library by name.
        "main" if parts.is_empty() => return None,
        "lib" if parts.is_empty() => {}
        "mod" => {}
        other => parts.push(other.to_string()),
    }
    Some(parts.join("::"))
}

fn read_sources(dir: &Path, root: &Path, out: &mut Sources) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src");
            if let Some(module) = module_path(rel) {
                let text = fs::read_to_string(&path).expect("readable source");
                out.insert(module, text);
            }
        }
    }
}

/// The source without comments and without its `#[cfg(test)]` modules
/// (a test module's `use super::*` is not a dependency of the code).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skipping_test_module = false;
    let mut depth: i64 = 0;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if skipping_test_module {
            depth += brace_balance(line);
            if depth <= 0 {
                skipping_test_module = false;
            }
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            pending_cfg_test = false;
            if trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ") {
                depth = brace_balance(line);
                skipping_test_module = depth > 0;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn brace_balance(line: &str) -> i64 {
    line.chars().fold(0, |n, c| match c {
        '{' => n + 1,
        '}' => n - 1,
        _ => n,
    })
}

/// The source as tokens: identifiers, `::`, and single marks.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
            continue;
        }
        // `{`, `}`, `,`, `*` and any other mark are tokens of their own.
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
        i += 1;
    }
    out
}

/// Reads one use-tree at `at` (after `crate::`), appending every full path
/// it names (`a::{b, c::d}` gives `a::b` and `a::c::d`). Returns the index
/// after the tree.
fn read_tree(
    toks: &[String],
    mut at: usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(at).map(String::as_str) {
            Some("{") => {
                at += 1;
                loop {
                    match toks.get(at).map(String::as_str) {
                        Some("}") => return at + 1,
                        Some(",") => at += 1,
                        None => return at,
                        _ => at = read_tree(toks, at, &path, out),
                    }
                }
            }
            Some("*") => {
                out.push(path);
                return at + 1;
            }
            Some("self") => {
                out.push(path);
                return skip_alias(toks, at + 1);
            }
            Some(word) if word.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                path.push(word.to_string());
                at += 1;
                if toks.get(at).map(String::as_str) == Some("::") {
                    at += 1;
                    continue;
                }
                out.push(path);
                return skip_alias(toks, at);
            }
            _ => {
                out.push(path);
                return at;
            }
        }
    }
}

/// Steps over `as name` after a path.
fn skip_alias(toks: &[String], at: usize) -> usize {
    if toks.get(at).map(String::as_str) == Some("as") {
        at + 2
    } else {
        at
    }
}

/// `#[macro_export]` macros by name, with the module that defines them:
/// the language puts them at the crate root (`crate::params!`), but using
/// one depends on its module, not on `lib.rs`.
fn exported_macros(sources: &Sources) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (module, text) in sources {
        let toks = tokens(&code_of(text));
        let mut exported = false;
        for (i, t) in toks.iter().enumerate() {
            if t == "macro_export" {
                exported = true;
            } else if exported && t == "macro_rules" {
                if let Some(name) = toks.get(i + 2) {
                    out.insert(name.clone(), module.clone());
                }
                exported = false;
            }
        }
    }
    out
}

/// The modules `module` names through `crate::` and `super::` paths.
fn imports_of(
    module: &str,
    text: &str,
    modules: &BTreeSet<String>,
    macros: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let toks = tokens(&code_of(text));
    let own: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(String::from).collect()
    };
    let mut paths = Vec::new();
    let mut i = 0;
    while i + 1 < toks.len() {
        let start = &toks[i];
        let preceded_by_sep = i > 0 && toks[i - 1] == "::";
        // `use child::...` and `use self::...` name modules relative to
        // this one (the crate root re-exports that way).
        if start == "use" {
            let first = toks[i + 1].as_str();
            let mut child = own.clone();
            child.push(first.to_string());
            if first == "self" || modules.contains(&child.join("::")) {
                let at = if first == "self" { i + 3 } else { i + 1 };
                let next = read_tree(&toks, at, &own, &mut paths);
                i = next.max(i + 1);
                continue;
            }
        }
        if toks[i + 1] == "::" && !preceded_by_sep && (start == "crate" || start == "super") {
            let mut prefix: Vec<String> = Vec::new();
            let mut at = i;
            if start == "super" {
                prefix = own.clone();
                while toks.get(at).map(String::as_str) == Some("super")
                    && toks.get(at + 1).map(String::as_str) == Some("::")
                {
                    prefix.pop();
                    at += 2;
                }
            } else {
                at += 2;
            }
            let next = read_tree(&toks, at, &prefix, &mut paths);
            i = next.max(i + 1);
            continue;
        }
        i += 1;
    }
    let mut found = BTreeSet::new();
    for path in paths {
        if let [name] = path.as_slice() {
            if let Some(home) = macros.get(name) {
                if home != module {
                    found.insert(home.clone());
                }
                continue;
            }
        }
        let target = (0..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|p| modules.contains(p))
            .unwrap_or_default();
        // A module declaring or reaching into its own children is not a
        // circle; only imports of modules outside itself count.
        let inside_self =
            !module.is_empty() && (target == module || target.starts_with(&format!("{module}::")));
        if !inside_self && target != module {
            found.insert(target);
        }
    }
    found
}

fn graph_of(sources: &Sources) -> Graph {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let macros = exported_macros(sources);
    sources
        .iter()
        .map(|(m, text)| (m.clone(), imports_of(m, text, &modules, &macros)))
        .collect()
}

/// Every import circle, each once, as `a -> b -> a`.
fn cycles(graph: &Graph) -> Vec<String> {
    fn name(m: &str) -> &str {
        if m.is_empty() {
            "crate (lib.rs)"
        } else {
            m
        }
    }
    fn visit(
        node: &str,
        graph: &Graph,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut BTreeSet<String>,
    ) {
        if let Some(pos) = stack.iter().position(|s| s == node) {
            let mut circle: Vec<&str> = stack[pos..].iter().map(|s| name(s)).collect();
            // One spelling per circle: start at its smallest module.
            let start = (0..circle.len()).min_by_key(|&i| circle[i]).unwrap_or(0);
            circle.rotate_left(start);
            let first = circle[0];
            circle.push(first);
            found.insert(circle.join(" -> "));
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found.into_iter().collect()
}

#[test]
fn no_module_of_the_api_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Sources::new();
    read_sources(&src, &src, &mut sources);
    assert!(
        sources.contains_key("") && sources.len() > 10,
        "the scan found no sources under {}",
        src.display()
    );
    let graph = graph_of(&sources);
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import circles among account-api/src modules:\n  {}",
        found.join("\n  ")
    );
}

/// The scanner itself: a circle through a group import and `super::` is
/// found; a test module's `use super::*` and a parent declaring its child
/// are not circles.
#[test]
fn the_scan_finds_a_circle_and_only_a_circle() {
    let mut sources = Sources::new();
    sources.insert(
        "".into(),
        "pub mod a;\npub mod rules;\npub use a::Thing;\n".into(),
    );
    sources.insert(
        "a".into(),
        "use crate::rules::{self as r, b::{One, Two}};\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::rules::c;\n}\n"
            .into(),
    );
    sources.insert("rules".into(), "pub mod b;\npub mod c;\n".into());
    sources.insert("rules::b".into(), "use super::c::Three;\n".into());
    sources.insert("rules::c".into(), "// use crate::a;\nfn f() {}\n".into());
    let graph = graph_of(&sources);
    assert_eq!(
        graph["a"],
        BTreeSet::from(["rules".to_string(), "rules::b".to_string()])
    );
    assert!(cycles(&graph).is_empty(), "{:?}", cycles(&graph));

    assert_eq!(graph[""], BTreeSet::from(["a".to_string()]));

    sources.insert(
        "rules::c".into(),
        "fn f() -> crate::a::Thing { todo!() }\n".into(),
    );
    let found = cycles(&graph_of(&sources));
    assert_eq!(found, vec!["a -> rules::b -> rules::c -> a".to_string()]);

    // An exported macro is reached through the crate root but counts as
    // its own module: `crate::m!` in rules::c imports a, not lib.rs.
    sources.insert(
        "a".into(),
        "#[macro_export]\nmacro_rules! m { () => {} }\n".into(),
    );
    sources.insert("rules::c".into(), "fn f() { crate::m!(); }\n".into());
    let graph = graph_of(&sources);
    assert_eq!(graph["rules::c"], BTreeSet::from(["a".to_string()]));
}
