//! SQL tested as SQL: every `.slt` file under `tests/sql/<stage>/` is one test, run by
//! sqllogictest against a DataFusion session made as a run makes it (firecredit's functions,
//! the rule tables, the bound parameters, the common views), with the lake tables registered
//! empty and writable so that a case states its inputs with `INSERT INTO`.
//!
//! Beside SQL, a case may use these statements of this runner:
//! - `AS OF 2026-06-30`: the day the parameters are bound to (default `2026-06-30`);
//! - `PARAMETER key = value[, key = value …]`: rows of `parameters.csv` replaced (the rules
//!   are checked again, as `--rules` would be);
//! - `SEED text`: the plan's public seed `$plan_seed` (default: the `AS OF` date, as a run's);
//! - `CARRIED FROM 2026-06-29`: binds `$iot_carry_end_us` as a run that carries the intervals
//!   of a run at that day binds it;
//! - `STEP stage/name`: `sql/stage/name.sql` executed with the parameters as they are now and
//!   its rows registered, in order, as the table `name` (as a run publishes a step and reads
//!   it back);
//! - `STEP risk/risk_scores WITH MODEL file.json`: the risk-scores SQL with a model artifact
//!   (a path relative to the case) compiled into it.
//!
//! A last test checks that every SQL file under `sql/` is the `STEP` of some case.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{lit, Expr};
use datafusion::prelude::SessionContext;
use firecredit::contract::rules::{RuleSet, TABLES};
use firecredit::contract::values::{format_date, parse_date};
use firecredit::engine::rules::{register_common_views, register_rules};
use firecredit::engine::{session, EngineOptions, Params};
use firecredit::lake::{tables, Lake};
use libtest_mimic::{Arguments, Failed, Trial};
use sqllogictest::{DBOutput, DefaultColumnType};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CaseError(String);

impl From<firecredit::Error> for CaseError {
    fn from(e: firecredit::Error) -> Self {
        CaseError(e.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for CaseError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        CaseError(e.to_string())
    }
}

/// One case's database: a session with the lake tables, the rules and the parameters of a day.
struct Db {
    ctx: SessionContext,
    /// The case file, for paths relative to it.
    case: PathBuf,
    as_of: i32,
    /// `parameters.csv` overrides: key → value.
    overrides: BTreeMap<String, String>,
    seed: Option<String>,
    /// The day of the run whose intervals are carried (`CARRIED FROM`).
    carried_from: Option<i32>,
    rules: RuleSet,
    params: Params,
    _lake: tempfile::TempDir,
}

impl Db {
    async fn new(case: PathBuf) -> Result<Db, CaseError> {
        let dir = tempfile::tempdir().map_err(|e| CaseError(e.to_string()))?;
        let lake = Lake::open(dir.path().to_str().expect("utf-8 path"))?;
        let ctx = session(
            &EngineOptions {
                target_partitions: Some(2),
                ..Default::default()
            },
            &lake,
        )
        .await?;
        for (name, schema) in tables::all() {
            // Lineage columns and flags as ingest writes them, so that a case names only the
            // contract fields it needs.
            let mut defaults: HashMap<String, Expr> = HashMap::from([
                ("_ingest".to_string(), lit(1i64)),
                ("_file".to_string(), lit("case")),
                ("_line".to_string(), lit(0i64)),
            ]);
            if let Ok(source) = name.parse::<firecredit::contract::Source>() {
                for f in source.fields().iter().filter(|f| f.null_is_false) {
                    defaults.insert(f.name.to_string(), lit(false));
                }
            }
            let table = MemTable::try_new(schema, vec![vec![]])?.with_column_defaults(defaults);
            ctx.register_table(name, Arc::new(table))?;
        }
        let rules = RuleSet::defaults();
        let as_of = parse_date("2026-06-30").expect("date");
        let params = Params::new(as_of, &rules);
        let mut db = Db {
            ctx,
            case,
            as_of,
            overrides: BTreeMap::new(),
            seed: None,
            carried_from: None,
            rules,
            params,
            _lake: dir,
        };
        db.bind().await?;
        Ok(db)
    }

    /// Rebuilds the rules with the overrides, registers them, binds the parameters of the day
    /// and registers the common views.
    async fn bind(&mut self) -> Result<(), CaseError> {
        let texts = TABLES
            .iter()
            .map(|(name, text)| {
                let text = if *name == "parameters.csv" {
                    override_parameters(text, &self.overrides)
                } else {
                    text.to_string()
                };
                (name.to_string(), text)
            })
            .collect();
        self.rules =
            RuleSet::from_texts("case".into(), texts).map_err(|e| CaseError(e.to_string()))?;
        let seed = self.seed.clone().unwrap_or_else(|| format_date(self.as_of));
        self.params = Params::new(self.as_of, &self.rules).with(
            "plan_seed",
            datafusion::common::ScalarValue::Utf8(Some(seed)),
        );
        if let Some(day) = self.carried_from {
            self.params.carry_from(day);
        }
        register_rules(&self.ctx, &self.rules).await?;
        register_common_views(&self.ctx, &self.params).await?;
        Ok(())
    }

    async fn step(&self, spec: &str) -> Result<(), CaseError> {
        let (path, model) = match spec.split_once(" WITH MODEL ") {
            Some((p, m)) => (p.trim(), Some(m.trim())),
            None => (spec.trim(), None),
        };
        let file = repo().join("sql").join(format!("{path}.sql"));
        let sql = std::fs::read_to_string(&file)
            .map_err(|e| CaseError(format!("{}: {e}", file.display())))?;
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        let sql = match model {
            None => sql,
            Some(model) => {
                let file = self.case.parent().expect("case folder").join(model);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| CaseError(format!("{}: {e}", file.display())))?;
                let artifact: firecredit_models::artifact::Artifact =
                    serde_json::from_str(&text).map_err(|e| CaseError(e.to_string()))?;
                firecredit::stages::risk::scoring::risk_scores_sql(&artifact)
            }
        };
        // A step is executed once and its rows kept in order, as a run publishes it and reads
        // the published table back (a view's ORDER BY would not survive a query on it).
        let df = self
            .ctx
            .sql(&sql)
            .await?
            .with_param_values(self.params.values())?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let rows = datafusion::arrow::compute::concat_batches(&schema, &batches)
            .map_err(|e| CaseError(e.to_string()))?;
        self.ctx.deregister_table(&name)?;
        self.ctx.register_table(
            &name,
            Arc::new(MemTable::try_new(schema, vec![vec![rows]])?),
        )?;
        Ok(())
    }

    async fn query(&self, sql: &str) -> Result<DBOutput<DefaultColumnType>, CaseError> {
        let df = self
            .ctx
            .sql(sql)
            .await?
            .with_param_values(self.params.values())?;
        let schema = df.schema().as_arrow().clone();
        let batches = df.collect().await?;
        if !is_query(sql) {
            // `statement ok` cases: DDL and INSERT (whose count nobody asks for).
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(text_rows(b)?);
        }
        Ok(DBOutput::Rows { types, rows })
    }
}

fn is_query(sql: &str) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    head.starts_with("SELECT") || head.starts_with("WITH") || head.starts_with("VALUES")
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            DefaultColumnType::FloatingPoint
        }
        _ => DefaultColumnType::Text,
    }
}

/// Rows as text: `NULL` for null, `(empty)` for an empty string, dates `YYYY-MM-DD`, floats in
/// their shortest exact form, lists `[a, b]`.
fn text_rows(b: &RecordBatch) -> Result<Vec<Vec<String>>, CaseError> {
    let opts = FormatOptions::default();
    let formatters = b
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaseError(e.to_string()))?;
    Ok((0..b.num_rows())
        .map(|r| {
            b.columns()
                .iter()
                .zip(&formatters)
                .map(|(c, f)| {
                    if c.is_null(r) {
                        "NULL".to_string()
                    } else {
                        let text = f.value(r).to_string();
                        if text.is_empty() {
                            "(empty)".to_string()
                        } else {
                            text
                        }
                    }
                })
                .collect()
        })
        .collect())
}

/// `parameters.csv` with the values of `overrides` in place of the defaults.
fn override_parameters(text: &str, overrides: &BTreeMap<String, String>) -> String {
    text.lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.splitn(3, ',').collect();
            match overrides.get(cells[0]) {
                Some(value) if cells.len() == 3 => {
                    cells[1] = value;
                    cells.join(",")
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = CaseError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let sql = sql.trim();
        if let Some(day) = sql.strip_prefix("AS OF ") {
            self.as_of = parse_date(day.trim())
                .ok_or_else(|| CaseError(format!("`{day}` is not a date")))?;
            self.bind().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if let Some(assignments) = sql.strip_prefix("PARAMETER ") {
            for assignment in assignments.split(',') {
                let (key, value) = assignment
                    .split_once('=')
                    .ok_or_else(|| CaseError("PARAMETER key = value[, key = value]".into()))?;
                self.overrides
                    .insert(key.trim().to_string(), value.trim().to_string());
            }
            self.bind().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if let Some(day) = sql.strip_prefix("CARRIED FROM ") {
            self.carried_from = Some(
                parse_date(day.trim())
                    .ok_or_else(|| CaseError(format!("`{day}` is not a date")))?,
            );
            self.bind().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if let Some(seed) = sql.strip_prefix("SEED ") {
            self.seed = Some(seed.trim().to_string());
            self.bind().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if let Some(spec) = sql.strip_prefix("STEP ") {
            self.step(spec).await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        self.query(sql).await
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "firecredit"
    }
}

/// Files under `dir` ending in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("readable folder").into_path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

fn cases() -> Vec<PathBuf> {
    files(&repo().join("tests/sql"), "slt")
}

fn run_case(path: PathBuf) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let case = path.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let case = case.clone();
            async move { Db::new(case).await }
        });
        runner.with_column_validator(sqllogictest::strict_column_validator);
        runner
            .run_file_async(&path)
            .await
            .map_err(|e| Failed::from(e.display(true).to_string()))
    })
}

/// Every SQL file of `sql/` (but the rule tables) is the `STEP` of some case.
fn coverage() -> Result<(), Failed> {
    let mut stepped = BTreeSet::new();
    for case in cases() {
        let text = std::fs::read_to_string(&case).map_err(|e| e.to_string())?;
        for line in text.lines() {
            if let Some(spec) = line.trim().strip_prefix("STEP ") {
                let path = spec.split(" WITH MODEL ").next().unwrap_or(spec).trim();
                stepped.insert(format!("{path}.sql"));
            }
        }
    }
    let sql = repo().join("sql");
    let files: Vec<String> = files(&sql, "sql")
        .iter()
        .map(|f| {
            f.strip_prefix(&sql)
                .expect("under sql")
                .display()
                .to_string()
        })
        .collect();
    let missing: Vec<&String> = files.iter().filter(|f| !stepped.contains(*f)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("SQL files without a .slt case: {missing:?}").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let root = repo().join("tests/sql");
    let mut trials: Vec<Trial> = cases()
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .expect("under tests/sql")
                .display()
                .to_string();
            Trial::test(name, move || run_case(path))
        })
        .collect();
    trials.push(Trial::test("every_sql_file_has_a_case", coverage));
    libtest_mimic::run(&args, trials).exit();
}
