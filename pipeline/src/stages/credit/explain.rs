//! `firecredit explain`: one unit's ledger with each event's arithmetic, in Chinese and English,
//! for an analyst answering an objection (异议). Reads only the committed run.

use std::fmt::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;

use crate::contract::rules::RuleSet;
use crate::contract::Source;
use crate::engine::catalog::{register_batch, register_files};
use crate::engine::rules::register_rules;
use crate::engine::{session, EngineOptions};
use crate::error::{Error, Result};
use crate::lake::columns::Columns;
use crate::lake::publish::{parquet_schema, read_manifest};
use crate::lake::schema::LakeSchema;
use crate::lake::{Lake, Pins};

pub const EXPLAIN_SQL: &str = include_str!("../../../../sql/credit/explain.sql");
pub const EXPLAIN_SCORES_SQL: &str = include_str!("../../../../sql/credit/explain_scores.sql");
pub const EXPLAIN_UNIT_SQL: &str = include_str!("../../../../sql/credit/explain_unit.sql");

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
    let batches = ctx.sql(EXPLAIN_SQL).await?.collect().await?;
    let scores = ctx.sql(EXPLAIN_SCORES_SQL).await?.collect().await?;
    let scores = concat_batches(
        &ctx.table("unit_scores")
            .await?
            .schema()
            .as_arrow()
            .clone()
            .into(),
        &scores,
    )?;
    if scores.num_rows() == 0 {
        return Err(Error::Invalid(format!(
            "unit {unit} is not in the run for {as_of}"
        )));
    }
    let schema = std::sync::Arc::new(ctx.sql(EXPLAIN_SQL).await?.schema().as_arrow().clone());
    let rows = Cells::read("credit_ledger", &concat_batches(&schema, &batches)?)?;
    let score = Cells::read("unit_scores", &scores)?;

    let registry = ctx.sql(EXPLAIN_UNIT_SQL).await?.collect().await?;
    let name = match registry.first().filter(|b| b.num_rows() > 0) {
        Some(b) => Cells::read("units", b)?.text("name", 0)?.to_string(),
        None => String::new(),
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
    Ok(out)
}
