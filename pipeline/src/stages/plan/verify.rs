//! `firecredit verify-plan`: recomputes a published plan from the run folder alone — every u
//! and key from the public seed, the weights from grades and levels, each stratum's count, the
//! selection, every inspector u and the assignment — and says per unit whether it matches.
//! The public `inspection_plan.csv` and its Parquet twin must agree too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::assign::{assign, Candidate};
use super::draw::{capacity, draw_count, PlanRules};
use crate::engine::functions::draw_u;
use crate::error::{Error, Result};
use crate::lake::columns::Columns;

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

fn plan_from_parquet(dir: &Path, columns: &[String]) -> Result<Vec<PlanRow>> {
    let mut rows = Vec::new();
    for t in tables(dir, "inspection_plan")? {
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
    Ok(rows)
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

/// Recomputes the plan published in `run_dir`.
pub fn verify_plan(run_dir: &Path) -> Result<Report> {
    let mut report = Report::default();
    let rules = plan_rules(run_dir)?;
    let columns = plan_columns(rules.per_unit);
    let csv_plan = plan_from_csv(run_dir, &columns)?;
    let parquet_plan = plan_from_parquet(run_dir, &columns)?;
    if csv_plan != parquet_plan {
        report.general.push(
            "inspection_plan.csv and inspection_plan.parquet differ: one of them was edited".into(),
        );
    }
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
