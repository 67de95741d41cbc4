//! `firecredit explain`: one unit's ledger with each event's arithmetic, in Chinese and English,
//! for an analyst answering an objection (异议). Reads only the committed run.

use std::fmt::Write;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::lit;
use datafusion::prelude::SessionContext;

use crate::contract::rules::RuleSet;
use crate::contract::values::parse_date;
use crate::contract::Source;
use crate::engine::catalog::{register_batch, register_batches, register_files};
use crate::engine::rules::register_rules;
use crate::engine::{session, EngineOptions};
use crate::error::{Error, Result};
use crate::lake::columns::Columns;
use crate::lake::publish::{parquet_schema, read_manifest, recent_manifests, Manifest};
use crate::lake::schema::LakeSchema;
use crate::lake::{Lake, Pins};

pub const EXPLAIN_SQL: &str = include_str!("../../../../sql/credit/explain.sql");
pub const EXPLAIN_SCORES_SQL: &str = include_str!("../../../../sql/credit/explain_scores.sql");
pub const EXPLAIN_UNIT_SQL: &str = include_str!("../../../../sql/credit/explain_unit.sql");
pub const EXPLAIN_CASES_SQL: &str = include_str!("../../../../sql/credit/explain_cases.sql");
pub const EXPLAIN_SUPERVISION_SQL: &str =
    include_str!("../../../../sql/credit/explain_supervision.sql");

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "有效 active",
        "expired" => "已过期 expired",
        "repaired" => "已信用修复 repaired",
        "voided" => "异议成立已撤销 voided",
        "repair_too_early" => "修复过早未生效 repair too early",
        _ => "?",
    }
}

/// A table's cells as text, read once per column, by column name and row.
struct Cells {
    columns: std::collections::HashMap<String, Vec<String>>,
    rows: usize,
}

impl Cells {
    fn read(table: &str, batch: &RecordBatch) -> Result<Cells> {
        let columns = Columns::new(table, batch);
        let mut out = std::collections::HashMap::new();
        for field in batch.schema().fields() {
            out.insert(field.name().clone(), columns.display(field.name())?);
        }
        Ok(Cells {
            columns: out,
            rows: batch.num_rows(),
        })
    }

    /// The rows of `sql` on `ctx` (in one batch, with the query's schema when it has none).
    async fn query(ctx: &SessionContext, table: &str, sql: &str) -> Result<Cells> {
        let frame = ctx.sql(sql).await?;
        let schema: SchemaRef = std::sync::Arc::new(frame.schema().as_arrow().clone());
        Cells::read(table, &concat_batches(&schema, &frame.collect().await?)?)
    }

    fn text(&self, col: &str, row: usize) -> Result<&str> {
        self.columns
            .get(col)
            .and_then(|c| c.get(row))
            .map(String::as_str)
            .ok_or_else(|| Error::Table {
                table: "explain".into(),
                column: col.into(),
                message: "no such column".into(),
            })
    }

    fn int(&self, col: &str, row: usize) -> Result<i64> {
        let text = self.text(col, row)?;
        text.parse().map_err(|_| Error::Table {
            table: "explain".into(),
            column: col.into(),
            message: format!("`{text}` is not a whole number"),
        })
    }

    fn flag(&self, col: &str, row: usize) -> Result<bool> {
        Ok(self.text(col, row)? == "true")
    }
}

/// The explanation of `unit` in the run committed for `as_of`.
pub async fn explain(lake: &Lake, as_of: &str, unit: &str, rules: &RuleSet) -> Result<String> {
    let manifest = read_manifest(lake, as_of).await?.ok_or_else(|| {
        Error::Invalid(format!(
            "no committed run for {as_of}; run `firecredit run` first"
        ))
    })?;
    let ctx = session(
        &EngineOptions {
            target_partitions: Some(1),
            ..Default::default()
        },
        lake,
    )
    .await?;
    for table in ["credit_ledger", "unit_scores"] {
        let out = manifest
            .output(table, "parquet")
            .ok_or_else(|| Error::Invalid(format!("run {} has no {table}", manifest.run_id)))?;
        let schema = parquet_schema(lake, &out.path).await?;
        register_files(&ctx, lake, table, schema, &[out.path.as_str()]).await?;
    }
    register_rules(&ctx, rules).await?;
    // The registry as the run read it: the units table at the run's version.
    let pins = Pins::Versions(manifest.table_versions.clone());
    let units = lake.snapshot_at(&pins).await?;
    let paths: Vec<&str> = units
        .files("units")
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    register_files(&ctx, lake, "units", Source::Units.lake_schema(), &paths).await?;
    let params = RecordBatch::try_from_iter(vec![(
        "unit_id",
        std::sync::Arc::new(datafusion::arrow::array::StringArray::from(vec![unit])) as _,
    )])?;
    register_batch(&ctx, "explain_params", params).await?;
    let score = Cells::query(&ctx, "unit_scores", EXPLAIN_SCORES_SQL).await?;
    if score.rows == 0 {
        return Err(Error::Invalid(format!(
            "unit {unit} is not in the run for {as_of}"
        )));
    }
    let rows = Cells::query(&ctx, "credit_ledger", EXPLAIN_SQL).await?;

    let registry = ctx.sql(EXPLAIN_UNIT_SQL).await?.collect().await?;
    let (name, grid) = match registry.first().filter(|b| b.num_rows() > 0) {
        Some(b) => {
            let cells = Cells::read("units", b)?;
            (
                cells.text("name", 0)?.to_string(),
                cells.text("grid_id", 0)?.to_string(),
            )
        }
        None => (String::new(), String::new()),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "单位 Unit {unit} {name}    评价日 as_of {as_of}    运行 run {}",
        manifest.run_id
    );
    let versions: Vec<String> = manifest
        .table_versions
        .iter()
        .map(|(t, v)| format!("{t} v{v}"))
        .collect();
    let _ = writeln!(out, "湖版本 lake versions read: {}", versions.join(", "));
    let _ = writeln!(
        out,
        "规则 rules {} ({})",
        manifest.rules.version,
        manifest.rules.sha256.get(..12).unwrap_or_default()
    );
    if manifest.rules.sha256 != rules.sha256 {
        let _ = writeln!(
            out,
            "!! the run used other rules than these ({}): names and arithmetic below are these rules'",
            rules.version
        );
    }
    let _ = writeln!(out);
    let (mut deductions, mut bonuses) = (0i64, 0i64);
    for r in 0..rows.rows {
        let status = rows.text("status", r)?.to_string();
        let code = rows.text("code", r)?;
        let _ = writeln!(
            out,
            "{} {code} {} / {}",
            rows.text("event_id", r)?,
            rows.text("name_zh", r)?,
            rows.text("name_en", r)?
        );
        if status == "repair_too_early" {
            let _ = writeln!(
                out,
                "    修复申请 repair on {} for {}: 未满最短期限，不生效 before the minimum wait, no effect",
                rows.text("event_date", r)?,
                rows.text("ref_id", r)?
            );
            continue;
        }
        let base = rows.int("base_points", r)?;
        let points = rows.int("points", r)?;
        let mut arithmetic = format!("基础分 base {base}");
        if rows.flag("repeated", r)? {
            let _ = write!(
                arithmetic,
                " ×2 重复 repeat (of {})",
                rows.text("repeat_of", r)?
            );
        }
        if rows.flag("timely", r)? {
            arithmetic.push_str(" ÷2 按期整改 rectified in time");
        }
        let _ = writeln!(
            out,
            "    日期 date {}  计分至 counts until {}  {arithmetic} = {points:+}",
            rows.text("event_date", r)?,
            rows.text("window_end", r)?,
        );
        let detail = match status.as_str() {
            "voided" => format!(" (objection {})", rows.text("void_action", r)?),
            "repaired" => format!(
                " (repair {} on {})",
                rows.text("repair_action", r)?,
                rows.text("repaired_on", r)?
            ),
            _ => String::new(),
        };
        let _ = writeln!(out, "    状态 status {}{detail}", status_label(&status));
        if status == "active" {
            if points < 0 {
                deductions -= points;
            } else {
                bonuses += points;
            }
        }
    }
    let p = &rules.parameters;
    let (base, cap, max) = (p.credit_base, p.bonus_cap, p.credit_max);
    let capped = bonuses.min(cap);
    let points = (base - deductions + capped).clamp(0, max);
    let _ = writeln!(out);
    let _ = writeln!(out, "有效扣分 active deductions  {deductions}");
    let _ = writeln!(
        out,
        "有效加分 active bonuses     {bonuses} (上限 cap {cap} → {capped})"
    );
    let _ = writeln!(
        out,
        "信用积分 points = clamp({base} − {deductions} + {capped}, 0, {max}) = {points}"
    );
    let published = score.int("credit_points", 0)?;
    if published != points {
        let _ = writeln!(
            out,
            "!! published credit_points {published} differ from this arithmetic"
        );
    }
    let veto = score.text("veto_reason", 0)?;
    let _ = writeln!(
        out,
        "等级 grade {}{}",
        score.text("credit_grade", 0)?,
        if veto.is_empty() {
            String::new()
        } else {
            format!("  一票否决 veto: {veto}")
        }
    );
    let _ = writeln!(out, "主要扣分原因 reasons {}", score.text("reasons", 0)?);
    if score.columns.contains_key("under_objection") {
        let _ = writeln!(
            out,
            "异议处理中 under objection {}    最早可修复日 earliest repairable on {}",
            score.text("under_objection", 0)?,
            or_none(score.text("earliest_repairable_on", 0)?)
        );
    }

    let params = RecordBatch::try_from_iter(vec![
        (
            "unit_id",
            std::sync::Arc::new(StringArray::from(vec![unit])) as _,
        ),
        (
            "grid_id",
            std::sync::Arc::new(StringArray::from(vec![grid.as_str()])) as _,
        ),
    ])?;
    register_batch(&ctx, "explain_params", params).await?;
    write_cases(&mut out, &ctx, lake, &manifest).await?;
    write_supervision(&mut out, &ctx, lake, &manifest).await?;
    Ok(out)
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "—"
    } else {
        text
    }
}

/// The unit's objection and repair cases in the run (supervision.md §8); nothing for a run
/// published before cases were.
async fn write_cases(
    out: &mut String,
    ctx: &SessionContext,
    lake: &Lake,
    manifest: &Manifest,
) -> Result<()> {
    let Some(cases) = manifest.output("credit_cases", "parquet") else {
        return Ok(());
    };
    let schema = parquet_schema(lake, &cases.path).await?;
    register_files(ctx, lake, "credit_cases", schema, &[cases.path.as_str()]).await?;
    let rows = Cells::query(ctx, "credit_cases", EXPLAIN_CASES_SQL).await?;
    let _ = writeln!(out);
    let _ = writeln!(out, "异议与信用修复 objections and repairs: {}", rows.rows);
    for r in 0..rows.rows {
        let family = match rows.text("family", r)? {
            "objection" => "异议 objection",
            _ => "修复 repair",
        };
        let decision = match rows.text("decision", r)? {
            "upheld" => "成立 upheld",
            "granted" => "准予 granted",
            "rejected" => "驳回 rejected",
            _ => "待决 pending",
        };
        let _ = writeln!(
            out,
            "{} {family} on {}: filed {}, {decision} {}, {} of {} days{}",
            rows.text("case_id", r)?,
            rows.text("ref_id", r)?,
            rows.text("filed_on", r)?,
            or_none(rows.text("decided_on", r)?),
            rows.text("days_open", r)?,
            rows.text("limit_days", r)?,
            if rows.flag("breach", r)? {
                "  超期 over the time limit"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The listed-supervision history of the unit and its grid (supervision.md §6) over every
/// committed run up to this one that published the supervision tables.
async fn write_supervision(
    out: &mut String,
    ctx: &SessionContext,
    lake: &Lake,
    manifest: &Manifest,
) -> Result<()> {
    let mut runs = recent_manifests(lake, &manifest.as_of, usize::MAX).await?;
    runs.push(manifest.clone());
    for table in ["hazard_supervision", "area_supervision"] {
        let mut history: Option<(SchemaRef, Vec<RecordBatch>)> = None;
        for run in &runs {
            let Some(file) = run.output(table, "parquet") else {
                continue;
            };
            let Some(day) = parse_date(&run.as_of) else {
                continue;
            };
            let schema = parquet_schema(lake, &file.path).await?;
            let scratch = format!("{table}_run");
            ctx.deregister_table(scratch.as_str())?;
            register_files(ctx, lake, &scratch, schema, &[file.path.as_str()]).await?;
            let frame = ctx
                .table(scratch.as_str())
                .await?
                .with_column("run_as_of", lit(ScalarValue::Date32(Some(day))))?;
            let schema: SchemaRef = std::sync::Arc::new(frame.schema().as_arrow().clone());
            let batches = frame.collect().await?;
            history
                .get_or_insert_with(|| (schema, Vec::new()))
                .1
                .extend(batches);
        }
        let Some((schema, batches)) = history else {
            return Ok(());
        };
        register_batches(ctx, &format!("{table}_history"), schema, batches).await?;
    }
    let rows = Cells::query(ctx, "supervision", EXPLAIN_SUPERVISION_SQL).await?;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "挂牌督办 listed supervision (unit and grid), run by run:"
    );
    if rows.rows == 0 {
        let _ = writeln!(out, "    从未挂牌 never listed");
    }
    for r in 0..rows.rows {
        let subject = match rows.text("subject", r)? {
            "unit" => "单位 unit",
            _ => "网格 grid",
        };
        let status = match rows.text("status", r)? {
            "new" => "新挂牌 new",
            "continuing" => "持续 continuing",
            _ => "摘牌 lifted",
        };
        let mut line = format!(
            "{} {subject} {} {status}: listed {} ({} days), deadline {}",
            rows.text("run_as_of", r)?,
            rows.text("id", r)?,
            rows.text("listed_on", r)?,
            rows.text("days_listed", r)?,
            rows.text("deadline", r)?,
        );
        if rows.flag("overdue", r)? {
            line.push_str("  逾期 overdue");
        }
        let reason = rows.text("lift_reason", r)?;
        if !reason.is_empty() {
            let _ = write!(line, "  reason {reason}");
        }
        let detail = rows.text("detail", r)?;
        if !detail.is_empty() {
            let _ = write!(line, "  [{detail}]");
        }
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}
