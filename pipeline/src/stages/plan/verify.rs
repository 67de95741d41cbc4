//! `firecredit verify-plan`: recomputes a published plan from the run folder alone — every u
//! and key from the public seed, the weights from grades and levels, each stratum's count, the
//! selection, every inspector u and the assignment — and says per unit whether it matches.
//! The public `inspection_plan.csv` and its Parquet twin must agree too; every file of the
//! folder must have the SHA-256 the day's manifest (`../manifest.json`) recorded for it; and the
//! grades and risk levels the draw weighted must be the run's own (`unit_scores`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::assign::{assign, Candidate};
use super::draw::{capacity, draw_count, PlanRules};
use crate::engine::functions::draw_u;
use crate::error::{Error, Result};
use crate::lake::columns::Columns;
use crate::lake::publish::csv_out::{spreadsheet_safe, unescape_formula};
use crate::lake::publish::Manifest;
use crate::lake::sha256_file;

/// What `verify-plan` found: one verdict per unit that was drawn or should have been, and
/// problems that concern no single unit.
#[derive(Debug, Default)]
pub struct Report {
    pub units: BTreeMap<String, Vec<String>>,
    pub general: Vec<String>,
}

impl Report {
    pub fn mismatches(&self) -> usize {
        self.units.values().filter(|p| !p.is_empty()).count() + self.general.len()
    }

    fn unit(&mut self, unit: &str, problem: Option<String>) {
        let e = self.units.entry(unit.to_string()).or_default();
        e.extend(problem);
    }
}

/// A plan row, from CSV or Parquet, as text (floats in their shortest round-trip form).
type PlanRow = BTreeMap<String, String>;

/// The plan's columns: the draw's, then one per assigned inspector, then the seed.
fn plan_columns(per_unit: u64) -> Vec<String> {
    let draw = [
        "unit_id",
        "district_code",
        "stratum",
        "weight",
        "u",
        "draw_key",
        "status",
        "reason",
    ];
    draw.iter()
        .map(|c| c.to_string())
        .chain((1..=per_unit).map(|i| format!("inspector_{i}")))
        .chain(["seed".to_string()])
        .collect()
}

fn read_parquet(dir: &Path, table: &str) -> Result<Vec<RecordBatch>> {
    let path = dir.join(format!("{table}.parquet"));
    let file = std::fs::File::open(&path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let parquet = |source| Error::Parquet {
        path: path.display().to_string(),
        source,
    };
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet)?
        .build()
        .map_err(parquet)?
        .map(|b| b.map_err(Error::from))
        .collect()
}

/// A published table's columns, read by name.
struct Table {
    name: &'static str,
    batch: RecordBatch,
}

impl Table {
    fn columns(&self) -> Columns<'_> {
        Columns::new(self.name, &self.batch)
    }

    fn text(&self, column: &str) -> Result<Vec<Option<String>>> {
        self.columns().text(column)
    }

    fn f64s(&self, column: &str) -> Result<Vec<f64>> {
        Ok(self
            .columns()
            .f64s(column)?
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    }

    fn i64s(&self, column: &str) -> Result<Vec<i64>> {
        Ok(self
            .columns()
            .i64s(column)?
            .into_iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }
}

fn tables(dir: &Path, name: &'static str) -> Result<Vec<Table>> {
    Ok(read_parquet(dir, name)?
        .into_iter()
        .map(|batch| Table { name, batch })
        .collect())
}

/// The plan's numbers as the run published them (`plan_parameters`).
fn plan_rules(dir: &Path) -> Result<PlanRules> {
    let mut texts = BTreeMap::new();
    for t in tables(dir, "plan_parameters")? {
        for (k, v) in t.text("key")?.into_iter().zip(t.text("value")?) {
            texts.insert(k.unwrap_or_default(), v.unwrap_or_default());
        }
    }
    PlanRules::from_texts(texts)
}

/// The Parquet plan's rows as text, and which of its columns are text (the CSV escapes those).
fn plan_from_parquet(dir: &Path, columns: &[String]) -> Result<(Vec<PlanRow>, BTreeSet<String>)> {
    let mut rows = Vec::new();
    let mut text_columns = BTreeSet::new();
    for t in tables(dir, "inspection_plan")? {
        text_columns.extend(
            t.batch
                .schema()
                .fields()
                .iter()
                .filter(|f| f.data_type().is_string())
                .map(|f| f.name().clone()),
        );
        let cols: Vec<Vec<Option<String>>> =
            columns.iter().map(|c| t.text(c)).collect::<Result<_>>()?;
        for r in 0..t.batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .zip(&cols)
                    .map(|(c, v)| (c.clone(), v[r].clone().unwrap_or_default()))
                    .collect(),
            );
        }
    }
    Ok((rows, text_columns))
}

fn plan_from_csv(dir: &Path, columns: &[String]) -> Result<Vec<PlanRow>> {
    let path = dir.join("inspection_plan.csv");
    let io = |e: csv::Error| Error::Invalid(format!("{}: {e}", path.display()));
    let mut reader = csv::Reader::from_path(&path).map_err(io)?;
    let header = reader.headers().map_err(io)?.clone();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(io)?;
        let mut row = PlanRow::new();
        for c in columns {
            let i = header
                .iter()
                .position(|h| h == c)
                .ok_or_else(|| Error::Invalid(format!("{} lacks column {c}", path.display())))?;
            row.insert(c.clone(), rec.get(i).unwrap_or("").to_string());
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The files of `run_dir` against the day's manifest beside it: the folder must be the run the
/// manifest commits, and each output must have the SHA-256 recorded for it.
fn check_manifest(run_dir: &Path, report: &mut Report) -> Result<()> {
    let (Some(day), Some(lake)) = (
        run_dir.parent(),
        run_dir
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent),
    ) else {
        report
            .general
            .push("the run folder is not LAKE/runs/<as_of>/<run_id>: no manifest to check".into());
        return Ok(());
    };
    let path = day.join("manifest.json");
    let manifest: Manifest = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Manifest {
            path: path.display().to_string(),
            message: e.to_string(),
        })?,
        Err(e) => {
            report.general.push(format!(
                "{} cannot be read ({e}): the files cannot be checked against their checksums",
                path.display()
            ));
            return Ok(());
        }
    };
    let folder = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    if manifest.dir.rsplit('/').next() != folder.as_deref() {
        report.general.push(format!(
            "the day's manifest commits {}, not this folder: this run was replaced",
            manifest.dir
        ));
        return Ok(());
    }
    for output in &manifest.outputs {
        let file = lake.join(&output.path);
        match sha256_file(&file) {
            Ok(sha) if sha == output.sha256 => {}
            Ok(sha) => report.general.push(format!(
                "{}: SHA-256 {sha}, the manifest recorded {}: the file was changed after publishing",
                output.path, output.sha256
            )),
            Err(e) => report
                .general
                .push(format!("{}: cannot be read ({e})", output.path)),
        }
    }
    Ok(())
}

/// The grade and risk level the draw weighted each unit by must be the unit's in the run's
/// `unit_scores`.
fn check_grades(run_dir: &Path, report: &mut Report) -> Result<()> {
    /// unit → (grade, risk level) of a published table.
    fn grades(run_dir: &Path, name: &'static str) -> Result<Vec<(String, Option<String>, i64)>> {
        let mut out = Vec::new();
        for t in tables(run_dir, name)? {
            let (ids, grades, levels) = (
                t.text("unit_id")?,
                t.text("credit_grade")?,
                t.i64s("risk_level")?,
            );
            for (r, (grade, level)) in grades.into_iter().zip(levels).enumerate() {
                out.push((ids[r].clone().unwrap_or_default(), grade, level));
            }
        }
        Ok(out)
    }
    let scores: HashMap<String, (Option<String>, i64)> = grades(run_dir, "unit_scores")?
        .into_iter()
        .map(|(id, grade, level)| (id, (grade, level)))
        .collect();
    for (id, grade, level) in grades(run_dir, "plan_population")? {
        let problem = match scores.get(&id) {
            None => Some("in plan_population but not in unit_scores".to_string()),
            Some((g, l)) if *g != grade || *l != level => Some(format!(
                "plan_population weighs grade {} level {level}, unit_scores has grade {} level {l}",
                grade.as_deref().unwrap_or("-"),
                g.as_deref().unwrap_or("-"),
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            report.unit(&id, Some(problem));
        }
    }
    Ok(())
}

/// Recomputes the plan published in `run_dir`.
pub fn verify_plan(run_dir: &Path) -> Result<Report> {
    let mut report = Report::default();
    let rules = plan_rules(run_dir)?;
    let columns = plan_columns(rules.per_unit);
    check_manifest(run_dir, &mut report)?;
    check_grades(run_dir, &mut report)?;
    let csv_plan = plan_from_csv(run_dir, &columns)?;
    let (parquet_plan, text_columns) = plan_from_parquet(run_dir, &columns)?;
    // The CSV escapes formula-like text for spreadsheets; the Parquet keeps the raw value.
    let escaped: Vec<PlanRow> = parquet_plan
        .iter()
        .map(|r| {
            r.iter()
                .map(|(k, v)| match text_columns.contains(k) {
                    true => (k.clone(), spreadsheet_safe(v).into_owned()),
                    false => (k.clone(), v.clone()),
                })
                .collect()
        })
        .collect();
    if csv_plan != escaped {
        report.general.push(
            "inspection_plan.csv and inspection_plan.parquet differ: one of them was edited".into(),
        );
    }
    // The public plan is the CSV: each unit is checked as people read it, formulas unescaped.
    let csv_plan: Vec<PlanRow> = csv_plan
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|(k, v)| match text_columns.contains(&k) {
                    true => (k, unescape_formula(&v).to_string()),
                    false => (k, v),
                })
                .collect()
        })
        .collect();
    let seed = match csv_plan.first() {
        Some(r) => r["seed"].clone(),
        None => run_dir
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if let Some(r) = csv_plan.iter().find(|r| r["seed"] != seed) {
        report
            .general
            .push(format!("unit {} has another seed", r["unit_id"]));
    }

    // The population: recompute u, weight and key of every eligible unit.
    struct Unit {
        district: String,
        stratum: String,
        key: f64,
    }
    let mut population: BTreeMap<String, Unit> = BTreeMap::new();
    let mut population_problems: HashMap<String, Vec<String>> = HashMap::new();
    for t in tables(run_dir, "plan_population")? {
        let (ids, districts, strata, grades) = (
            t.text("unit_id")?,
            t.text("district_code")?,
            t.text("stratum")?,
            t.text("credit_grade")?,
        );
        let (levels, weights, us, keys) = (
            t.i64s("risk_level")?,
            t.f64s("weight")?,
            t.f64s("u")?,
            t.f64s("draw_key")?,
        );
        for r in 0..t.batch.num_rows() {
            let id = ids[r].clone().unwrap_or_default();
            let u = draw_u(&format!("{seed}:{id}"));
            let w = rules
                .weight(grades[r].as_deref().unwrap_or(""), levels[r])
                .unwrap_or(f64::NAN);
            let key = u.ln() / w;
            let mut problems = Vec::new();
            for (what, got, want) in [
                ("u", us[r], u),
                ("weight", weights[r], w),
                ("draw_key", keys[r], key),
            ] {
                if got.to_bits() != want.to_bits() {
                    problems.push(format!("{what} published {got:?}, recomputed {want:?}"));
                }
            }
            if !problems.is_empty() {
                population_problems.insert(id.clone(), problems);
            }
            population.insert(
                id,
                Unit {
                    district: districts[r].clone().unwrap_or_default(),
                    stratum: strata[r].clone().unwrap_or_default(),
                    key,
                },
            );
        }
    }

    // Strata: counts from the population, draws from the exact formula.
    let mut by_stratum: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
    for (id, u) in &population {
        by_stratum.entry(&u.stratum).or_default().push((id, u.key));
    }
    let mut drawn: BTreeSet<String> = BTreeSet::new();
    for t in tables(run_dir, "plan_strata")? {
        let (strata, bases, rates) = (t.text("stratum")?, t.text("base_stratum")?, t.text("rate")?);
        let (nums, dens) = (t.i64s("m_num")?, t.i64s("m_den")?);
        let (eligible, n_draw) = (t.i64s("eligible")?, t.i64s("n_draw")?);
        for r in 0..t.batch.num_rows() {
            let stratum = strata[r].clone().unwrap_or_default();
            let base = bases[r].clone().unwrap_or_default();
            let rate = rules.rate(&base);
            if rate.map(|r| r.1) != rates[r].as_deref() {
                report.general.push(format!(
                    "stratum {stratum}: rate {} is not the plan parameters'",
                    rates[r].as_deref().unwrap_or("")
                ));
            }
            let mut units = by_stratum.remove(stratum.as_str()).unwrap_or_default();
            let n = draw_count(
                units.len() as u64,
                rate.map_or((0, 1), |r| r.0),
                (nums[r].max(0) as u64, dens[r].max(1) as u64),
                rules.months,
            );
            if eligible[r] != units.len() as i64 || n_draw[r] != n as i64 {
                report.general.push(format!(
                    "stratum {stratum}: published {} eligible / {} drawn, recomputed {} / {n}",
                    eligible[r],
                    n_draw[r],
                    units.len()
                ));
            }
            units.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            drawn.extend(units.iter().take(n as usize).map(|u| u.0.to_string()));
        }
    }
    for stratum in by_stratum.keys() {
        report.general.push(format!(
            "stratum {stratum} has eligible units but no published count"
        ));
    }

    // Candidates: recompute every inspector's u; drawn units only.
    let mut candidates = Vec::new();
    for t in tables(run_dir, "plan_candidates")? {
        let (ids, inspectors) = (t.text("unit_id")?, t.text("inspector_id")?);
        let us = t.f64s("u")?;
        for r in 0..t.batch.num_rows() {
            let id = ids[r].clone().unwrap_or_default();
            let Some(unit) = population.get(&id) else {
                report.unit(
                    &id,
                    Some("a candidate row for a unit outside the population".into()),
                );
                continue;
            };
            if !drawn.contains(&id) {
                report.unit(
                    &id,
                    Some("candidate rows for a unit that is not drawn".into()),
                );
            }
            let inspector = inspectors[r].clone().map(|p| {
                let u = draw_u(&format!("{seed}:{id}:{p}"));
                if us[r].to_bits() != u.to_bits() {
                    report.unit(
                        &id,
                        Some(format!(
                            "inspector {p}: u published {:?}, recomputed {u:?}",
                            us[r]
                        )),
                    );
                }
                (p, u)
            });
            candidates.push(Candidate {
                unit_id: id,
                district_code: unit.district.clone(),
                draw_key: unit.key,
                inspector,
            });
        }
    }
    let mut drawn_per_district: HashMap<&str, u64> = HashMap::new();
    for id in &drawn {
        *drawn_per_district
            .entry(population[id].district.as_str())
            .or_default() += 1;
    }
    let mut active: HashMap<String, u64> = HashMap::new();
    for t in tables(run_dir, "plan_districts")? {
        let districts = t.text("district_code")?;
        let counts = t.i64s("active_inspectors")?;
        for r in 0..t.batch.num_rows() {
            active.insert(
                districts[r].clone().unwrap_or_default(),
                counts[r].max(0) as u64,
            );
        }
    }
    let per_unit = usize::try_from(rules.per_unit).unwrap_or(usize::MAX);
    let expected = assign(
        &candidates,
        &|d| {
            capacity(
                drawn_per_district.get(d).copied().unwrap_or(0),
                active.get(d).copied().unwrap_or(0),
                rules.per_unit,
            )
        },
        per_unit,
    );
    let expected: HashMap<&str, _> = expected.iter().map(|a| (a.unit_id.as_str(), a)).collect();

    // The published plan against the recomputation, unit by unit.
    let published: HashMap<&str, &PlanRow> = csv_plan
        .iter()
        .map(|r| (r["unit_id"].as_str(), r))
        .collect();
    for id in &drawn {
        report.unit(id, None);
        if let Some(p) = population_problems.get(id) {
            for problem in p {
                report.unit(id, Some(problem.clone()));
            }
        }
        let Some(row) = published.get(id.as_str()) else {
            report.unit(
                id,
                Some("drawn by the recomputation but missing from the plan".into()),
            );
            continue;
        };
        let unit = &population[id];
        let Some(a) = expected.get(id.as_str()) else {
            report.unit(id, Some("no candidate row".into()));
            continue;
        };
        let mut want = vec![
            ("stratum".to_string(), unit.stratum.clone()),
            ("district_code".to_string(), unit.district.clone()),
            ("status".to_string(), a.status.to_string()),
            ("reason".to_string(), a.reason.unwrap_or("").to_string()),
        ];
        for i in 0..per_unit {
            want.push((
                format!("inspector_{}", i + 1),
                a.inspectors.get(i).cloned().unwrap_or_default(),
            ));
        }
        for (column, value) in want {
            if row[&column] != value {
                report.unit(
                    id,
                    Some(format!(
                        "{column} published `{}`, recomputed `{value}`",
                        row[&column]
                    )),
                );
            }
        }
        let key: f64 = row["draw_key"].parse().unwrap_or(f64::NAN);
        if key.to_bits() != unit.key.to_bits() {
            report.unit(
                id,
                Some(format!(
                    "draw_key published {}, recomputed {:?}",
                    row["draw_key"], unit.key
                )),
            );
        }
    }
    for row in &csv_plan {
        if !drawn.contains(&row["unit_id"]) {
            report.unit(
                &row["unit_id"],
                Some("in the plan but not drawn by the recomputation".into()),
            );
        }
    }
    Ok(report)
}
