//! Report stage: the risk-zone report for governments (`report.html`, one self-contained file,
//! Chinese by default) and the grids as GeoJSON for GIS tools. The figures are small SQL
//! aggregates (`sql/report/`); the charts are plotters SVG, the page a minijinja template.

pub mod charts;
pub mod names;
pub mod text;

use std::collections::BTreeMap;

use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use futures::future::BoxFuture;
use plotters::style::RGBColor;
use serde::Serialize;
use serde_json::json;

use crate::contract::values::format_date;
use crate::engine::{Stage, StageContext, Step};
use crate::error::{Error, Result};
use crate::lake::columns::Columns;
use crate::lake::publish::recent_manifests;
use charts::Series;
pub use text::Lang;

pub const DISTRICT_SUMMARY_SQL: &str = include_str!("../../../../sql/report/district_summary.sql");
pub const GRID_POINTS_SQL: &str = include_str!("../../../../sql/report/grid_points.sql");
pub const HAZARD_LIST_SQL: &str = include_str!("../../../../sql/report/hazard_list.sql");
pub const AREA_LIST_SQL: &str = include_str!("../../../../sql/report/area_list.sql");
pub const SUPERVISION_COUNTS_SQL: &str =
    include_str!("../../../../sql/report/supervision_counts.sql");
pub const SUPERVISION_LIST_SQL: &str = include_str!("../../../../sql/report/supervision_list.sql");
pub const CASE_TIMELINESS_SQL: &str = include_str!("../../../../sql/report/case_timeliness.sql");
pub const ENFORCEMENT_BY_DISTRICT_SQL: &str =
    include_str!("../../../../sql/report/enforcement_by_district.sql");
const TEMPLATE: &str = include_str!("templates/report.html");

pub const STEPS: [Step; 1] = [Step::publish(
    "district_summary",
    DISTRICT_SUMMARY_SQL,
    true,
)];

/// How many earlier runs the trend chart shows.
const TREND_RUNS: usize = 11;

/// The report stage, in the report's language.
pub struct Report {
    pub lang: Lang,
}

impl Stage for Report {
    fn name(&self) -> &'static str {
        "report"
    }

    fn run<'a>(&'a self, cx: &'a mut StageContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.render(cx))
    }
}

/// One row of `district_summary`.
struct Count {
    district: String,
    grade: String,
    level: Option<i64>,
    units: u64,
    hazards: u64,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Totals {
    open_units: u64,
    level4: u64,
    grade_d: u64,
    hazards: u64,
}

fn counts(batches: &[RecordBatch]) -> Result<Vec<Count>> {
    let mut out = Vec::new();
    for b in batches {
        let table = Columns::new("district_summary", b);
        let (d, g) = (table.text("district_code")?, table.text("credit_grade")?);
        let (l, u, h) = (
            table.i64s("risk_level")?,
            table.i64s("units")?,
            table.i64s("major_hazard_units")?,
        );
        for r in 0..b.num_rows() {
            out.push(Count {
                district: d[r].clone().unwrap_or_default(),
                grade: g[r].clone().unwrap_or_default(),
                level: l[r],
                units: u[r].unwrap_or(0) as u64,
                hazards: h[r].unwrap_or(0) as u64,
            });
        }
    }
    Ok(out)
}

fn totals(counts: &[Count]) -> Totals {
    let mut t = Totals::default();
    for c in counts {
        t.open_units += c.units;
        t.hazards += c.hazards;
        if c.level == Some(4) {
            t.level4 += c.units;
        }
        if c.grade == "D" {
            t.grade_d += c.units;
        }
    }
    t
}

/// Rows of a small query, each as a map of its columns rendered as text.
async fn rows(cx: &StageContext, name: &str, sql: &str) -> Result<Vec<BTreeMap<String, String>>> {
    let batches = cx.frame(sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let table = Columns::new(name, b);
        let cols: Vec<Vec<Option<String>>> =
            names.iter().map(|n| table.text(n)).collect::<Result<_>>()?;
        for r in 0..b.num_rows() {
            out.push(
                names
                    .iter()
                    .zip(&cols)
                    .map(|(n, c)| (n.clone(), c[r].clone().unwrap_or_default()))
                    .collect(),
            );
        }
    }
    Ok(out)
}

const GRADE_COLORS: [(&str, RGBColor); 4] = [
    ("A", RGBColor(46, 139, 87)),
    ("B", RGBColor(70, 130, 180)),
    ("C", RGBColor(230, 145, 56)),
    ("D", RGBColor(204, 51, 51)),
];
const LEVEL_COLORS: [RGBColor; 4] = [
    RGBColor(46, 139, 87),
    RGBColor(230, 200, 60),
    RGBColor(230, 145, 56),
    RGBColor(204, 51, 51),
];
const AREA_LEVELS: [&str; 4] = ["I", "II", "III", "IV"];
const STATUS_COLORS: [RGBColor; 3] = [
    RGBColor(204, 51, 51),
    RGBColor(230, 145, 56),
    RGBColor(46, 139, 87),
];
const CASE_COLORS: [RGBColor; 4] = [
    RGBColor(46, 139, 87),
    RGBColor(230, 145, 56),
    RGBColor(70, 130, 180),
    RGBColor(204, 51, 51),
];
/// The kinds of enforcement alert (supervision.md §7), in the report's order, with colours.
const ALERT_KINDS: [(&str, RGBColor); 7] = [
    ("unknown_inspector", RGBColor(120, 60, 160)),
    ("out_of_jurisdiction", RGBColor(70, 130, 180)),
    ("penalty_too_light", RGBColor(230, 200, 60)),
    ("penalty_too_heavy", RGBColor(230, 145, 56)),
    ("followup_overdue", RGBColor(204, 51, 51)),
    ("rotation_breach", RGBColor(46, 139, 87)),
    ("complaint_unchecked", RGBColor(128, 128, 128)),
];
/// Half the side of the square drawn for a grid whose open units share one position, in
/// degrees (about 100 m): the GeoJSON cell and the map need an area.
const CELL_MARGIN_DEGREES: f64 = 0.001;

/// A grid's cell: the extent of its open units' positions, widened to at least a small square.
fn cell(g: &BTreeMap<String, String>) -> Option<[(f64, f64); 5]> {
    let v = |k: &str| g.get(k).and_then(|x| x.parse::<f64>().ok());
    let (x0, x1) = (
        v("lon_min")? - CELL_MARGIN_DEGREES,
        v("lon_max")? + CELL_MARGIN_DEGREES,
    );
    let (y0, y1) = (
        v("lat_min")? - CELL_MARGIN_DEGREES,
        v("lat_max")? + CELL_MARGIN_DEGREES,
    );
    Some([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
}

/// A chart of `rows` (one per district, in order) with one stacked series per `(label, column,
/// colour)`, and each row's district name added for the table. Returns the chart's axis (the
/// districts' short names) and its series.
fn district_chart<'a>(
    rows: &mut [BTreeMap<String, String>],
    names: &names::Names,
    columns: &[(&'a str, &str, RGBColor)],
) -> (Vec<String>, Vec<Series<'a>>) {
    let districts: Vec<String> = rows.iter().map(|r| r["district_code"].clone()).collect();
    let series = columns
        .iter()
        .map(|(label, col, color)| Series {
            label,
            color: *color,
            values: sum_by(rows, &|_| true, "district_code", &districts, col),
        })
        .collect();
    for r in rows.iter_mut() {
        let district = names.district(&r["district_code"]);
        r.insert("district".into(), district);
    }
    let axis = districts.iter().map(|d| names.district_short(d)).collect();
    (axis, series)
}

/// Sums the integer column `col` over the rows that pass `filter`, per value of `by` in `order`.
fn sum_by(
    rows: &[BTreeMap<String, String>],
    filter: &dyn Fn(&BTreeMap<String, String>) -> bool,
    by: &str,
    order: &[String],
    col: &str,
) -> Vec<u64> {
    order
        .iter()
        .map(|d| {
            rows.iter()
                .filter(|r| filter(r) && r.get(by) == Some(d))
                .map(|r| r.get(col).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
                .sum()
        })
        .collect()
}

impl Report {
    /// Publishes `district_summary`, `high_risk_areas.geojson` and `report.html`.
    async fn render(&self, cx: &mut StageContext) -> Result<()> {
        cx.run_steps(&STEPS).await?;
        let started = Instant::now();
        let as_of = format_date(cx.params.as_of());
        let model_version = cx.params.text("model_version").unwrap_or_default();
        let t = text::text(self.lang);
        let names = names::Names::new(self.lang, &cx.rules)?;
        let today = counts(&cx.ctx.table("district_summary").await?.collect().await?)?;

        // Grids: GeoJSON points for GIS tools, and the map.
        let grids = rows(cx, "grid_points", GRID_POINTS_SQL).await?;
        let features: Vec<serde_json::Value> = grids
        .iter()
        .map(|g| {
            let coordinate = |k: &str| g[k].parse::<f64>().ok();
            let geometry = match cell(g) {
                Some(ring) => json!({
                    "type": "Polygon",
                    "coordinates": [ring.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>()],
                }),
                None => serde_json::Value::Null,
            };
            json!({
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "grid_id": g["grid_id"],
                    "district_code": g["district_code"],
                    "district_name": names.district(&g["district_code"]),
                    "center": match (coordinate("lon"), coordinate("lat")) {
                        (Some(lon), Some(lat)) => json!([lon, lat]),
                        _ => serde_json::Value::Null,
                    },
                    "open_units": g["open_units"].parse::<u64>().unwrap_or(0),
                    "area_index": g["area_index"].parse::<f64>().unwrap_or(0.0),
                    "level": g["level"],
                    "drivers": g["drivers"].split(';').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                }
            })
        })
        .collect();
        let geojson = json!({"type": "FeatureCollection", "features": features});
        cx.publisher
            .write_bytes(
                "high_risk_areas",
                "geojson",
                serde_json::to_vec(&geojson).expect("GeoJSON"),
                grids.len() as u64,
            )
            .await?;

        let districts: Vec<String> = today
            .iter()
            .map(|c| c.district.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let per_district = |keep: &dyn Fn(&Count) -> bool| -> Vec<u64> {
            districts
                .iter()
                .map(|d| {
                    today
                        .iter()
                        .filter(|c| &c.district == d && keep(c))
                        .map(|c| c.units)
                        .sum()
                })
                .collect()
        };
        let grade_series: Vec<Series> = GRADE_COLORS
            .iter()
            .map(|(g, color)| Series {
                label: g,
                color: *color,
                values: per_district(&|c| c.grade == *g),
            })
            .collect();
        let level_series: Vec<Series> = (0..4)
            .map(|k| Series {
                label: t.risk_levels[k],
                color: LEVEL_COLORS[k],
                values: per_district(&|c| c.level == Some(k as i64 + 1)),
            })
            .collect();

        // Trend: this run and up to TREND_RUNS earlier ones that published a summary.
        let mut history: Vec<(String, Totals)> = Vec::new();
        for m in recent_manifests(&cx.lake, &as_of, TREND_RUNS).await? {
            if let Some(out) = m.output("district_summary", "parquet") {
                let batches = cx.lake.read_all(&out.path, None).await?;
                history.push((m.as_of.clone(), totals(&counts(&batches)?)));
            }
        }
        let now = totals(&today);
        history.push((as_of.clone(), now));
        let runs: Vec<String> = history.iter().map(|h| h.0.clone()).collect();
        let line = |label, color, f: &dyn Fn(&Totals) -> u64| Series {
            label,
            color,
            values: history.iter().map(|h| f(&h.1)).collect(),
        };
        let trend_series = [
            line(t.level4_units, LEVEL_COLORS[3], &|x| x.level4),
            line(t.grade_d_units, GRADE_COLORS[2].1, &|x| x.grade_d),
            line(t.major_hazard_units, RGBColor(120, 60, 160), &|x| x.hazards),
        ];

        let cells: Vec<charts::Cell> = grids
            .iter()
            .filter_map(|g| {
                Some(charts::Cell {
                    ring: cell(g)?,
                    level: AREA_LEVELS.iter().position(|l| *l == g["level"])?,
                })
            })
            .collect();
        // Each district's name under its grids: at the mean of their centres' longitudes,
        // just below the lowest of their cells, so that it covers none.
        let mut places: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
        for g in &grids {
            if let (Ok(x), Some(ring)) = (g["lon"].parse::<f64>(), cell(g)) {
                let p = places
                    .entry(g["district_code"].clone())
                    .or_insert((0.0, f64::MAX, 0.0));
                *p = (p.0 + x, p.1.min(ring[0].1), p.2 + 1.0);
            }
        }
        let labels: Vec<(String, f64, f64)> = places
            .iter()
            .map(|(d, (x, bottom, n))| (names.district_short(d), x / n, *bottom))
            .collect();
        let level_legend: Vec<(&str, RGBColor)> = (0..4)
            .map(|k| (t.area_levels[k], LEVEL_COLORS[3 - k]))
            .collect();
        let axis: Vec<String> = districts.iter().map(|d| names.district_short(d)).collect();

        // Listed supervision and case timeliness (supervision.md §6, §8).
        let listing_counts = rows(cx, "supervision_counts", SUPERVISION_COUNTS_SQL).await?;
        let unit_rows = |r: &BTreeMap<String, String>| r["subject"] == "unit";
        let listing_series: Vec<Series> = [
            (t.listed_new, "new"),
            (t.listed_continuing, "continuing"),
            (t.lifted, "lifted"),
        ]
        .into_iter()
        .zip(STATUS_COLORS)
        .map(|((label, col), color)| Series {
            label,
            color,
            values: sum_by(
                &listing_counts,
                &unit_rows,
                "district_code",
                &districts,
                col,
            ),
        })
        .collect();
        let mut listing_table = listing_counts.clone();
        for r in &mut listing_table {
            let district = names.district(&r["district_code"]);
            r.insert("district".into(), district);
        }
        let mut listings = rows(cx, "supervision_list", SUPERVISION_LIST_SQL).await?;
        for r in &mut listings {
            let detail = if r["subject"] == "unit" {
                names.elements(&r["detail"])
            } else {
                r["detail"].clone()
            };
            let (district, status, reason) = (
                names.district(&r["district_code"]),
                names.word(&r["status"]),
                names.word(&r["lift_reason"]),
            );
            r.extend([
                ("district".to_string(), district),
                ("status".to_string(), status),
                ("lift_reason".to_string(), reason),
                ("detail".to_string(), detail),
            ]);
        }
        let mut cases = rows(cx, "case_timeliness", CASE_TIMELINESS_SQL).await?;
        let (case_axis, case_series) = district_chart(
            &mut cases,
            &names,
            &[
                (t.decided_in_time, "decided_in_time", CASE_COLORS[0]),
                (t.decided_late, "decided_late", CASE_COLORS[1]),
                (t.pending, "pending", CASE_COLORS[2]),
                (t.pending_overdue, "pending_overdue", CASE_COLORS[3]),
            ],
        );

        let mut enforcement =
            rows(cx, "enforcement_by_district", ENFORCEMENT_BY_DISTRICT_SQL).await?;
        let alert_words: Vec<String> = ALERT_KINDS.iter().map(|(k, _)| names.word(k)).collect();
        let alert_kinds: Vec<(&str, &str, RGBColor)> = ALERT_KINDS
            .iter()
            .zip(&alert_words)
            .map(|((kind, color), word)| (word.as_str(), *kind, *color))
            .collect();
        let (alert_axis, alert_series) = district_chart(&mut enforcement, &names, &alert_kinds);
        let alert_columns: Vec<(&str, String)> = ALERT_KINDS
            .iter()
            .zip(&alert_words)
            .map(|((kind, _), word)| (*kind, word.clone()))
            .collect();

        let charts = json!({
            "grades": charts::stacked_bars(t.grades_by_district, &axis, &grade_series)?,
            "levels": charts::stacked_bars(t.levels_by_district, &axis, &level_series)?,
            "trend": charts::trend(t.trend, &runs, &trend_series)?,
            "map": charts::map(t.map, &cells, &labels, &level_legend)?,
            "supervision": charts::stacked_bars(t.supervision_chart, &axis, &listing_series)?,
            "cases": charts::stacked_bars(t.cases_chart, &case_axis, &case_series)?,
            "enforcement": charts::stacked_bars(t.enforcement_chart, &alert_axis, &alert_series)?,
        });

        let mut areas = rows(cx, "area_list", AREA_LIST_SQL).await?;
        for a in &mut areas {
            if let Some(v) = a.get_mut("area_index") {
                *v = v.parse::<f64>().map_or(v.clone(), |x| format!("{x:.1}"));
            }
            let (district, drivers) = (
                names.district(&a["district_code"]),
                names.drivers(&a["drivers"]),
            );
            a.extend([
                ("district".to_string(), district),
                ("drivers".to_string(), drivers),
            ]);
        }
        let mut hazards = rows(cx, "hazard_list", HAZARD_LIST_SQL).await?;
        for h in &mut hazards {
            let (district, elements, basis, status) = (
                names.district(&h["district_code"]),
                names.elements(&h["elements"]),
                names.word(&h["basis"]),
                names.word(&h["status"]),
            );
            h.extend([
                ("district".to_string(), district),
                ("elements".to_string(), elements),
                ("basis".to_string(), basis),
                ("status".to_string(), status),
            ]);
        }
        let mut env = minijinja::Environment::new();
        env.add_template("report.html", TEMPLATE)
            .map_err(|e| Error::Report(format!("template: {e}")))?;
        let html = env
            .get_template("report.html")
            .and_then(|tpl| {
                tpl.render(minijinja::context! {
                    t => &t,
                    as_of => &as_of,
                    model_version => &model_version,
                    rules_version => &cx.rules.version,
                    totals => now,
                    charts => charts,
                    areas => areas,
                    hazards => hazards,
                    listing_counts => listing_table,
                    listings => listings,
                    cases => cases,
                    enforcement => enforcement,
                    alert_columns => alert_columns,
                })
            })
            .map_err(|e| Error::Report(format!("template: {e}")))?;
        cx.publisher
            .write_bytes("report", "html", html.into_bytes(), 1)
            .await?;
        cx.record("html", started);
        Ok(())
    }
}
