//! The layering of `pipeline/src`, checked on the source itself: every path a module names
//! (`use crate::…`, `super::…`, or a path in code) is an edge from its module to another, and
//!
//! - a module imports only from layers below its own (`cli` → `run` → `stages`, `ingest` →
//!   `engine` → `lake` → `contract`), or from the leaves `error`, `progress` and `memory`;
//! - modules of one layer (the stages, `ingest`) may use one another, without a circle.
//!
//! Run it with `cargo test -p firecredit layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::visit::Visit;

/// A node of the graph: a top-level module, or `stages::<name>` for a stage.
type Node = String;

/// The layer of a node; `None` for the leaves anyone may use.
fn rank(node: &str) -> Option<u8> {
    let top = node.split("::").next().unwrap_or(node);
    match top {
        "error" | "progress" | "memory" => None,
        "contract" => Some(0),
        "lake" => Some(1),
        "engine" => Some(2),
        "stages" | "ingest" | "testing" => Some(3),
        "run" => Some(4),
        "cli" => Some(5),
        "layers" => Some(6),
        other => panic!("module `{other}` has no layer: add it to layers.rs"),
    }
}

/// The node of a module path (`["stages", "risk", "fit"]` → `stages::risk`); the crate root's
/// re-exports `Error` and `Result` are the `error` module's.
fn node_of(path: &[String]) -> Option<Node> {
    match path {
        [] => None,
        [stages, stage, ..] if stages == "stages" => Some(format!("stages::{stage}")),
        [top, ..] if top == "Error" || top == "Result" => Some("error".into()),
        [top, ..] => Some(top.clone()),
    }
}

/// Collects the module paths one file names, resolving `self` and `super` against the module
/// the path is written in.
struct Names {
    /// The module being visited (file module, then inline `mod`s).
    module: Vec<String>,
    found: BTreeSet<Vec<String>>,
}

impl Names {
    /// The absolute module path of `segments` as written in `self.module`, if it is one of
    /// this crate's (`crate::…`, `self::…`, `super::…`).
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => self.module.clone(),
            _ => return None,
        };
        let mut rest = &segments[1..];
        if first == "super" {
            base.pop();
        }
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend(rest.iter().take(2).cloned());
        Some(base)
    }

    fn note(&mut self, segments: &[String]) {
        if let Some(path) = self.resolve(segments) {
            self.found.insert(path);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.note(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.note(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.note(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.note(&segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.module.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.module.pop();
    }
}

/// The module path of a source file (`src/stages/risk/fit.rs` → `stages::risk::fit`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Every edge between two nodes, with one file that makes it.
fn edges() -> BTreeMap<(Node, Node), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = walkdir::WalkDir::new(&src)
        .into_iter()
        .map(|e| e.expect("source folder").into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"));
    let mut edges = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        // The binary names the library by its crate name, not `crate::`.
        let Some(from) = node_of(&module).filter(|_| module != ["main"]) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("source file");
        let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut names = Names {
            module: module.clone(),
            found: BTreeSet::new(),
        };
        names.visit_file(&syntax);
        for path in names.found {
            if let Some(to) = node_of(&path).filter(|to| *to != from) {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    edges
}

#[test]
fn layers_import_only_downwards_and_stages_without_a_circle() {
    let edges = edges();
    assert!(
        edges.contains_key(&("stages::risk".into(), "engine".into())),
        "the checker sees no edges: {edges:?}"
    );
    let upward: Vec<String> = edges
        .iter()
        .filter(|((from, to), _)| match (rank(from), rank(to)) {
            (_, None) => false,
            (None, Some(r)) => r > 0,
            (Some(a), Some(b)) => b > a,
        })
        .map(|((from, to), file)| format!("{from} → {to} ({file})"))
        .collect();
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));

    // Within a layer: a circle is a path back to where it started.
    let same: BTreeMap<&str, Vec<&str>> =
        edges
            .keys()
            .filter(|(a, b)| rank(a) == rank(b))
            .fold(BTreeMap::new(), |mut m, (a, b)| {
                m.entry(a.as_str()).or_default().push(b.as_str());
                m
            });
    fn reaches<'a>(
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        from: &'a str,
        target: &str,
        seen: &mut BTreeSet<&'a str>,
    ) -> bool {
        graph.get(from).into_iter().flatten().any(|next| {
            *next == target || (seen.insert(next) && reaches(graph, next, target, seen))
        })
    }
    let circles: Vec<&str> = same
        .keys()
        .copied()
        .filter(|n| reaches(&same, n, n, &mut BTreeSet::new()))
        .collect();
    assert!(circles.is_empty(), "import circles through {circles:?}");
}

#[test]
fn the_checker_sees_upward_paths_and_super() {
    let mut names = Names {
        module: vec!["lake".into(), "tables".into()],
        found: BTreeSet::new(),
    };
    let file: syn::File = syn::parse_quote! {
        use crate::{engine::session, stages::risk::fit};
        use super::super::run::RunOptions;
        fn f() { crate::cli::run(); }
        mod tests { use super::*; }
    };
    names.visit_file(&file);
    let nodes: BTreeSet<Node> = names.found.iter().filter_map(|p| node_of(p)).collect();
    let want: BTreeSet<Node> = ["engine", "stages::risk", "run", "cli", "lake"]
        .map(String::from)
        .into();
    assert_eq!(nodes, want);
}
