//! The Dockerfile builds: every path the release build reads (the workspace's members, the
//! paths their manifests name, the files their sources include) is copied into the build stage.

use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `path` without `.` and `..` (lexically), relative to the repository root.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.strip_prefix(root())
        .map(Path::to_path_buf)
        .unwrap_or(out)
}

/// The sources of the build stage's `COPY` lines (not those copying from another stage).
fn copied() -> Vec<PathBuf> {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let mut out = Vec::new();
    let mut stage = String::new();
    for line in dockerfile.lines().map(str::trim) {
        if let Some(from) = line.strip_prefix("FROM ") {
            stage = from.rsplit(' ').next().unwrap_or("").to_string();
        }
        if stage != "build" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("COPY ") {
            let args: Vec<&str> = rest.split_whitespace().collect();
            assert!(!args[0].starts_with("--from"), "{line}");
            out.extend(args[..args.len() - 1].iter().map(PathBuf::from));
        }
    }
    out
}

/// The quoted strings after `key` in `text` (`members = [...]`, `path = "..."`, `include_str!(`).
fn quoted_after<'t>(text: &'t str, key: &str) -> Vec<&'t str> {
    text.match_indices(key)
        .filter_map(|(i, _)| {
            let rest = &text[i + key.len()..];
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find('"')?;
            Some(&rest[start..end])
        })
        .collect()
}

#[test]
fn the_dockerfile_copies_every_path_the_build_reads() {
    let copied = copied();
    let is_copied = |p: &Path| copied.iter().any(|c| p.starts_with(c));
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members_list = manifest
        .split("members = [")
        .nth(1)
        .and_then(|m| m.split(']').next())
        .unwrap();
    let members: Vec<&str> = members_list
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .collect();
    assert!(members.len() >= 4, "{members:?}");
    let mut needed: Vec<(PathBuf, String)> = vec![
        ("Cargo.toml".into(), "the workspace".into()),
        ("Cargo.lock".into(), "--locked".into()),
    ];
    for member in &members {
        needed.push((member.into(), "a workspace member".into()));
        let dir = root().join(member);
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for path in quoted_after(&cargo, "path = ") {
            needed.push((normal(&dir.join(path)), format!("{member}/Cargo.toml")));
        }
        for entry in walkdir::WalkDir::new(dir.join("src")) {
            let entry = entry.unwrap();
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(entry.path()).unwrap();
            for key in ["include_str!(", "include_bytes!("] {
                for path in quoted_after(&source, key) {
                    let from = entry.path().parent().unwrap();
                    needed.push((
                        normal(&from.join(path)),
                        normal(entry.path()).display().to_string(),
                    ));
                }
            }
        }
    }
    let missing: Vec<String> = needed
        .iter()
        .filter(|(p, _)| !is_copied(p))
        .map(|(p, why)| format!("{} (for {why})", p.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "the Dockerfile does not copy: {missing:?}"
    );
    // The check sees what it must: the SQL the stages include.
    assert!(needed.iter().any(|(p, _)| p.starts_with("sql")));
}

#[test]
fn the_cluster_images_listen_where_the_operator_says() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(
        !dockerfile.contains("--bind-host\", \"0.0.0.0"),
        "{dockerfile}"
    );
    for target in ["scheduler", "executor"] {
        let stage = dockerfile
            .split(&format!("AS {target}\n"))
            .nth(1)
            .and_then(|s| s.split("\nFROM ").next())
            .unwrap();
        assert!(
            stage.contains("ENV FIRECREDIT_BIND_HOST=127.0.0.1"),
            "{stage}"
        );
    }
}
