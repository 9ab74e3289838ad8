//! The layout the code map (ARCHITECTURE.md) describes, held by tests rather than by habit:
//! every crate depends only on the crates it is allowed to, and no two files of a crate import
//! each other, directly or around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const DOMAIN: &str = "switchboard-domain";
const COMMANDS: &str = "switchboard-commands";
const PROJECTIONS: &str = "switchboard-projections";
const REPLAY: &str = "switchboard-replay";
const WORKERS: &str = "switchboard-workers";
const API: &str = "switchboard-api";
const SERVER: &str = "switchboard-server";
const TESTS: &str = "switchboard-tests";
const BENCH: &str = "switchboard-bench";

/// Each crate of the workspace and the crates of ours it may depend on (normal and dev
/// dependencies alike). Arrows point down only: the domain knows nothing of ours; the write
/// side and the read side know the domain and not each other; the composition root
/// (`server`) depends on everything and nothing but the tests and the bench depends on it.
const ALLOWED: &[(&str, &[&str])] = &[
    (DOMAIN, &[]),
    (COMMANDS, &[DOMAIN]),
    (PROJECTIONS, &[DOMAIN]),
    (REPLAY, &[DOMAIN, COMMANDS, PROJECTIONS]),
    (WORKERS, &[DOMAIN, COMMANDS, PROJECTIONS]),
    (API, &[DOMAIN, COMMANDS, PROJECTIONS, REPLAY, WORKERS]),
    (
        SERVER,
        &[DOMAIN, COMMANDS, PROJECTIONS, REPLAY, WORKERS, API],
    ),
    (
        TESTS,
        &[DOMAIN, COMMANDS, PROJECTIONS, REPLAY, WORKERS, API, SERVER],
    ),
    (
        BENCH,
        &[DOMAIN, COMMANDS, PROJECTIONS, REPLAY, API, SERVER, TESTS],
    ),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// Every workspace crate with the `switchboard-*` crates it names in its Cargo.toml.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let ours = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| d["name"].as_str())
                .filter(|name| name.starts_with("switchboard-"))
                .map(str::to_owned)
                .collect();
            (package["name"].as_str().unwrap().to_owned(), ours)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_what_the_code_map_allows() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(name, deps)| (*name, deps.iter().copied().collect()))
        .collect();
    let actual = workspace_dependencies();
    let crates: BTreeSet<&str> = actual.keys().map(String::as_str).collect();
    assert_eq!(
        crates,
        allowed.keys().copied().collect::<BTreeSet<_>>(),
        "a crate was added or removed: give it its row in ALLOWED (and in ARCHITECTURE.md's code map)"
    );
    for (name, deps) in &actual {
        let forbidden: Vec<&String> = deps
            .iter()
            .filter(|dep| !allowed[name.as_str()].contains(dep.as_str()))
            .collect();
        assert!(
            forbidden.is_empty(),
            "{name} depends on {forbidden:?}, which the code map does not allow"
        );
    }
}

/// A crate's files by module path (`""` for the crate root, `a::b` for `src/a/b.rs` or
/// `src/a/b/mod.rs`), with their text.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // A binary's `main.rs` beside a `lib.rs` is a crate of its own.
            let binary = path.ends_with("main.rs") && path.with_file_name("lib.rs").exists();
            if path.extension().is_none_or(|e| e != "rs") || binary {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            found.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
    found
}

/// The paths `text` names after each `crate::` and `super::`, written as module paths of the
/// crate (a `use crate::{a::B, c}` group gives `a::B` and `c`).
fn named_paths(module: &str, text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let code = without_comments(text);
    // Inside an inline module (`mod tests { use super::*; }`), `super` is the file's own
    // module, not its parent.
    let inline = inline_modules(&code);
    let own: Vec<String> = module
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    for prefix in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            let offset = code.len() - rest.len() + at;
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base = match prefix {
                "crate::" => Vec::new(),
                _ if inline.iter().any(|r| r.contains(&offset)) => own.clone(),
                _ => parent_of(module),
            };
            // `super::super::x`: one level up for each further `super`.
            while prefix == "super::" && rest.starts_with("super::") {
                rest = &rest["super::".len()..];
                base.pop();
            }
            for tail in parse_tree(rest) {
                let mut path = base.clone();
                path.extend(tail);
                paths.push(path);
            }
        }
    }
    paths
}

/// The byte ranges of `code`'s inline modules (`mod name { … }`, whatever the visibility or
/// attributes before it), found by matching braces from each declaration.
fn inline_modules(code: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut search = 0;
    while let Some(found) = code[search..].find("mod ") {
        let at = search + found;
        search = at + 4;
        let starts_word = code[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ')' || c == ']');
        let name_len = code[search..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(code.len() - search);
        let after = &code[search + name_len..];
        if !starts_word || name_len == 0 || !after.trim_start().starts_with('{') {
            continue;
        }
        let open = search + name_len + (after.len() - after.trim_start().len());
        let mut depth = 0;
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                ranges.push(open..open + i);
                break;
            }
        }
    }
    ranges
}

/// `text` without its `//` comments (doc comments included), whole-line or trailing. A `//`
/// inside a string literal would cut the line short: none of ours names a module path after
/// one.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parent_of(module: &str) -> Vec<String> {
    let mut parts: Vec<String> = module
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    parts.pop();
    parts
}

/// `a::b::{c, d::e}` → `[a, b, c]`, `[a, b, d, e]`; stops at the first character that is not
/// part of a path.
fn parse_tree(text: &str) -> Vec<Vec<String>> {
    fn ident(text: &str) -> (&str, &str) {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        text.split_at(end)
    }
    fn tree<'a>(text: &'a str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> &'a str {
        let text = text.trim_start();
        if let Some(inner) = text.strip_prefix('{') {
            let mut rest = inner;
            loop {
                rest = tree(rest, prefix.clone(), out).trim_start();
                if let Some(next) = rest.strip_prefix(',') {
                    rest = next.trim_start();
                    if let Some(after) = rest.strip_prefix('}') {
                        return after;
                    }
                } else if let Some(after) = rest.strip_prefix('}') {
                    return after;
                } else {
                    return rest;
                }
            }
        }
        if let Some(rest) = text.strip_prefix('*') {
            out.push(prefix);
            return rest;
        }
        let (name, rest) = ident(text);
        if name.is_empty() {
            if !prefix.is_empty() {
                out.push(prefix);
            }
            return rest;
        }
        let mut path = prefix;
        path.push(name.to_owned());
        match rest.strip_prefix("::") {
            Some(deeper) => tree(deeper, path, out),
            None => {
                out.push(path);
                // `a::B as C`: the name it is known by here does not matter.
                match rest.trim_start().strip_prefix("as ") {
                    Some(renamed) => ident(renamed.trim_start()).1,
                    None => rest,
                }
            }
        }
    }
    let mut out = Vec::new();
    tree(text, Vec::new(), &mut out);
    out
}

/// The module file that `path` reaches: the longest prefix that is a file, followed through
/// that file's `pub use` of a submodule's item (a `mod.rs` re-exporting `store::SharedStore`
/// is not where `crate::attachments::SharedStore` lives).
fn resolve<'a>(modules: &'a BTreeMap<String, String>, path: &[String]) -> Option<&'a str> {
    let mut path = path.to_vec();
    let mut last = None;
    for _ in 0..8 {
        let (n, module) = (0..=path.len()).rev().find_map(|n| {
            let key = path[..n].join("::");
            modules.get_key_value(&key).map(|(k, _)| (n, k.as_str()))
        })?;
        let Some(item) = path.get(n) else {
            return Some(module);
        };
        let Some(target) = reexported(module, &modules[module], item) else {
            return Some(module);
        };
        last = Some(module);
        path = target;
    }
    last
}

/// Where `module` (whose text is `text`) re-exports `item` from, as a path of the crate, when
/// it does so from one of its own submodules (`pub use store::{SharedStore, …};`).
fn reexported(module: &str, text: &str, item: &str) -> Option<Vec<String>> {
    let code = without_comments(text);
    let base: Vec<String> = module
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let public = rest[..at].trim_end().ends_with("pub") || rest[..at].trim_end().ends_with(')');
        rest = &rest[at + "use ".len()..];
        if !public {
            continue;
        }
        let tree = rest.strip_prefix("self::").unwrap_or(rest);
        if tree.starts_with("crate::") || tree.starts_with("super::") {
            continue; // followed when that path is read
        }
        for tail in parse_tree(tree) {
            if tail.last().map(String::as_str) == Some(item) && tail.len() > 1 {
                let mut path = base.clone();
                path.extend(tail);
                return Some(path);
            }
        }
    }
    None
}

/// The circles among a crate's files: sets of two or more files each of which reaches the
/// others through imports. A file naming its own submodules (a `mod.rs` re-exporting or
/// merging its children) is not an import in this sense: only the other direction is.
fn circles(src: &Path) -> Vec<BTreeSet<String>> {
    let modules = modules(src);
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (module, text) in &modules {
        for path in named_paths(module, text) {
            let Some(target) = resolve(&modules, &path) else {
                continue;
            };
            let descendant = module.is_empty() || target.starts_with(&format!("{module}::"));
            if target != module && !descendant {
                edges.entry(module).or_default().insert(target);
            }
        }
    }
    // Reachability by repeated expansion: the crates are small.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            for next in edges.get(at).into_iter().flatten() {
                if seen.insert(*next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&str, BTreeSet<&str>> =
        modules.keys().map(|m| (m.as_str(), reach(m))).collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for (module, reached) in &reaches {
        let circle: BTreeSet<String> = reached
            .iter()
            .filter(|other| reaches[*other].contains(module))
            .map(|m| m.to_string())
            .collect();
        if circle.len() > 1 && !found.contains(&circle) {
            found.push(circle);
        }
    }
    found
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let root = workspace_root();
    let mut found = Vec::new();
    for (name, _) in ALLOWED {
        // Integration tests (`<crate>/tests/*.rs`) are crates of their own.
        let src = root
            .join(name.trim_start_matches("switchboard-"))
            .join("src");
        for circle in circles(&src) {
            found.push(format!("{name}: {circle:?}"));
        }
    }
    assert!(
        found.is_empty(),
        "files that import each other (give what they share a module of its own):\n{}",
        found.join("\n")
    );
}

#[test]
fn re_exports_are_followed_to_the_file_that_defines_the_item() {
    let modules: BTreeMap<String, String> = [
        ("", "pub mod attachments;"),
        (
            "attachments",
            "pub mod store;\npub use store::{AttachmentStore, SharedStore}; // the store",
        ),
        ("attachments::store", "pub type SharedStore = ();"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_owned(), t.to_owned()))
    .collect();
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        resolve(&modules, &path("attachments::SharedStore")),
        Some("attachments::store")
    );
    assert_eq!(
        resolve(&modules, &path("attachments::Other")),
        Some("attachments")
    );
}

#[test]
fn paths_are_read_as_the_compiler_reads_them() {
    let paths = named_paths(
        "graphql::widget",
        "use crate::{auth::Auth, graphql::{types::{A, B}, AppContext}};\n\
         // crate::commented::Out\n\
         let x = super::types::page_size(1); use crate::error::ApiError; // crate::not::This\n\
         use super::*;",
    );
    let paths: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "auth::Auth",
            "graphql::types::A",
            "graphql::types::B",
            "graphql::AppContext",
            "error::ApiError",
            "graphql::types::page_size",
            "graphql",
        ]
    );
    let nested = named_paths(
        "a::b::c",
        "use super::super::x::Y;\npub mod read {\n    use super::z;\n}\nuse super::w::{V as U, T};",
    );
    let nested: Vec<String> = nested.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        nested,
        ["a::x::Y", "a::b::c::z", "a::b::w::V", "a::b::w::T"],
        "super::super, an inline module's super, a file-level super after it, and renames"
    );
    let in_tests = named_paths(
        "a::b",
        "use super::c::D;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}",
    );
    let in_tests: Vec<String> = in_tests.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        in_tests,
        ["a::c::D", "a::b"],
        "a test module's super is its file"
    );
}
