//! The risk-zone report renders in headless Chromium (Debian's `chromium`, installed here if
//! missing) without a console error and with its map and every chart; no published file
//! carries personal data; the feed's formats agree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;

const AS_OF: &str = "2026-06-30";

/// Debian's Chromium; installed with apt when missing (as `.ci/run` does).
fn chromium() -> PathBuf {
    let find = || {
        ["chromium", "chromium-browser"].iter().find_map(|c| {
            Command::new("sh")
                .args(["-c", &format!("command -v {c}")])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        })
    };
    if let Some(p) = find() {
        return p;
    }
    let status = Command::new("sh")
        .args([
            "-c",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
             || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)",
        ])
        .status()
        .expect("run apt-get");
    assert!(status.success(), "could not install chromium with apt-get");
    find().expect("chromium installed")
}

fn headless(browser: &Path, args: &[&str], page: &Path) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

fn run_dir(lake: &Path, m: &firecredit::lake::publish::Manifest) -> PathBuf {
    lake.join(&m.output("report", "html").unwrap().path)
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_report_renders_offline_with_its_map_and_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    // Two days, so that the trend chart compares runs.
    nightly(&samples("inbox"), &lake, "2026-06-29", None);
    let m = nightly(&samples("inbox"), &lake, AS_OF, None);
    let page = run_dir(&lake, &m).join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch (the only URL is SVG's namespace).
    for needle in ["<script", "<link", "@import", "url(", "src="] {
        assert!(!html.contains(needle), "report.html contains {needle}");
    }
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 30).min(html.len())])
        .filter(|u| !u.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(urls.is_empty(), "{urls:?}");
    assert!(html.contains("火灾风险区域报告"), "Chinese by default");

    let browser = chromium();
    let shot = tmp.path().join("report.png");
    let out = headless(
        &browser,
        &[
            "--window-size=1000,3200",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 50_000,
        "a screenshot with content: {} bytes",
        png.len()
    );

    let out = headless(&browser, &["--dump-dom"], &page);
    let log = String::from_utf8_lossy(&out.stderr);
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Failed to load") || l.contains("net::ERR"))
        .collect();
    assert!(console_errors.is_empty(), "{console_errors:#?}");
    let dom = String::from_utf8_lossy(&out.stdout);
    for id in [
        "map",
        "chart-grades",
        "chart-levels",
        "chart-trend",
        "chart-supervision",
        "chart-cases",
        "chart-enforcement",
    ] {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in the rendered page"));
        assert!(dom[at..].contains("<svg"), "#{id} holds an SVG");
    }
    // The trend compares both runs; the map has a cell per grid with coordinates and the
    // districts' names.
    assert!(dom.contains("2026-06-29") && dom.contains("2026-06-30"));
    let grids = published(&lake, &m, "high_risk_areas", &["grid_id"]).len();
    let map = &dom[dom.find("id=\"map\"").unwrap()..];
    let map = &map[..map.find("</figure>").unwrap()];
    assert!(map.matches("<polygon").count() >= grids, "a cell per grid");
    assert!(
        map.contains("荔湾区") && map.contains("天河区"),
        "district names on the map"
    );
    for id in [
        "table-areas",
        "table-hazards",
        "table-supervision",
        "table-overdue",
        "table-cases",
        "table-enforcement",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "#{id}");
    }
    // The second night lists supervision against the first: units still listed, with names,
    // and the cases by district.
    let section = |id: &str| {
        let at = dom.find(&format!("id=\"{id}\"")).unwrap();
        let rest = &dom[at..];
        rest[..rest.find("</table>").unwrap()].to_string()
    };
    let statuses = published(&lake, &m, "hazard_supervision", &["status"]);
    assert!(statuses.iter().any(|s| s == "continuing"), "{statuses:?}");
    let listed = section("table-supervision");
    assert!(
        listed.contains("（广州市）") && listed.contains("（深圳市）"),
        "{listed}"
    );
    assert!(listed.contains("重大火灾隐患单位") && listed.contains("火灾高风险区域"));
    let cases = section("table-cases");
    assert!(
        cases.contains("（广州市）") && cases.matches("<tr>").count() > 2,
        "{cases}"
    );
    // Enforcement alerts as counts by district and kind, never the officers they name.
    let enforcement = section("table-enforcement");
    assert!(
        enforcement.contains("处罚畸轻") && enforcement.contains("（广州市）"),
        "{enforcement}"
    );
    let officers = published(&lake, &m, "enforcement_alerts", &["inspector_id"]);
    if let Some(o) = officers
        .iter()
        .find(|o| !o.is_empty() && html.contains(o.as_str()))
    {
        panic!("the report names the officer {o} of an alert");
    }
    // People read names, not the schema's codes.
    let text = strip_tags(&dom);
    for code in [
        "s_risk",
        "s_fires",
        "comprehensive",
        "continuing",
        "C01;",
        ";C0",
        "440103 ",
    ] {
        assert!(!text.contains(code), "`{code}` shown to readers");
    }

    // English on request.
    assert_ok(&run_day(&lake, AS_OF, &["--lang", "en"]));
    let m = manifest(&lake, AS_OF);
    let html = std::fs::read_to_string(run_dir(&lake, &m).join("report.html")).unwrap();
    assert!(html.contains("Fire risk-zone report") && html.contains("lang=\"en\""));
    assert!(html.contains("Liwan District, Guangzhou") && html.contains("Listed supervision"));
    assert!(html.contains("Enforcement supervision alerts") && html.contains("penalty too heavy"));
    assert!(
        !strip_tags(&html).contains("天河区"),
        "English names in the English report"
    );
}

/// The text a reader sees: the page without its tags.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn published_files_carry_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let m = nightly(&samples("inbox"), &lake, AS_OF, None);
    let (officers, mut secrets) = personal_data(&samples("inbox"));
    let officers_count = officers.len();
    secrets.extend(officers);
    assert!(officers_count > 10 && secrets.len() > officers_count + 100);
    let forbidden_columns = ["reporter_phone", "phone", "category", "conflict_unit_ids"];
    let mut checked = 0;
    for out in &m.outputs {
        if !["csv", "ndjson", "html", "geojson", "json"].contains(&out.format.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(lake.join(&out.path)).unwrap();
        let head = text.lines().next().unwrap_or("");
        for c in forbidden_columns {
            assert!(
                !head.split(',').any(|h| h == c) && !text.contains(&format!("\"{c}\"")),
                "{}.{} has a {c} column",
                out.name,
                out.format
            );
        }
        if let Some(s) = secrets.iter().find(|s| text.contains(s.as_str())) {
            panic!("{}.{} contains personal data: {s}", out.name, out.format);
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} files checked");
    // Inspector names never, inspector ids in the plan only.
    let plan =
        std::fs::read_to_string(lake.join(&m.output("inspection_plan", "csv").unwrap().path))
            .unwrap();
    assert!(plan.starts_with("unit_id,district_code,stratum,weight,u,draw_key,status,reason,inspector_1,inspector_2,seed"));
}

#[test]
fn the_feed_publishes_scores_three_ways_and_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let first = nightly(&samples("inbox"), &lake, "2026-06-29", None);
    let changes = published(&lake, &first, "changes", &["unit_id"]);
    assert!(changes.is_empty(), "no previous run, no changes");
    let m = nightly(&samples("inbox"), &lake, AS_OF, None);
    for format in ["parquet", "csv", "ndjson"] {
        let out = m.output("scores", format).unwrap();
        assert_eq!(out.rows, 1500, "{format}");
        assert_eq!(out.sha256.len(), 64);
    }
    let ndjson =
        std::fs::read_to_string(lake.join(&m.output("scores", "ndjson").unwrap().path)).unwrap();
    let rows: Vec<serde_json::Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1500);
    let parquet = published(
        &lake,
        &m,
        "scores",
        &["unit_id", "credit_points", "credit_grade", "risk_level"],
    );
    for (row, line) in rows.iter().zip(&parquet) {
        assert_eq!(row["schema_version"], "firecredit-scores/1");
        let level = row["risk_level"]
            .as_i64()
            .map(|v| v.to_string())
            .unwrap_or_default();
        let want = format!(
            "{},{},{},{}",
            row["unit_id"].as_str().unwrap(),
            row["credit_points"].as_i64().unwrap(),
            row["credit_grade"].as_str().unwrap(),
            level
        );
        assert_eq!(&want, line);
    }
    // Changes: exactly the units whose grade or level differs between the two days.
    let before = published(
        &lake,
        &first,
        "unit_scores",
        &["unit_id", "credit_grade", "risk_level"],
    );
    let after = published(
        &lake,
        &m,
        "unit_scores",
        &["unit_id", "credit_grade", "risk_level"],
    );
    let want: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(_, b)| b.split(',').next().unwrap().to_string())
        .collect();
    let got = published(&lake, &m, "changes", &["unit_id"]);
    assert_eq!(got, want);
    assert!(!got.is_empty());
}
