//! The connected-device intervals carried forward from the previous run (decision 130): a night
//! reads the previous run's `iot_intervals` and the IoT events after its window end, not four
//! years of events. This module decides whether the previous run allows it and registers what
//! `iot_intervals_carried.sql` reads (and `iot_late_devices.sql` before it); the SQL does the
//! work.
//!
//! The previous run is the last committed one at or before this day
//! ([`StageContext::last`]: the run this one replaces, else the previous day's). Its
//! intervals are carried when it recorded the same SQL (the manifest's `reuse`), when its
//! output is readable, and when no IoT file it read has been removed since
//! (a compaction rewrites rows the SQL cannot tell from new ones). Files added since are what
//! the SQL looks in for late events. Otherwise, or with `run --full`, the intervals are
//! computed from all history.

use std::collections::BTreeSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::IOT_INTERVALS_SQL;
use crate::contract::values::{local_month, parse_date};
use crate::contract::Source;
use crate::engine::catalog::{register_batches, register_files};
use crate::engine::rules::IOT_TRANSITIONS_SQL;
use crate::engine::{StageContext, Step};
use crate::error::Result;
use crate::lake::publish::{self, Manifest, Reuse};
use crate::lake::schema::LakeSchema;
use crate::lake::tables::partition_month;
use crate::lake::DataFile;

pub const IOT_INTERVALS_CARRIED_SQL: &str =
    include_str!("../../../../sql/hazard/iot_intervals_carried.sql");
pub const IOT_LATE_DEVICES_SQL: &str = include_str!("../../../../sql/hazard/iot_late_devices.sql");

/// The output carried, as the step and the manifest name it.
const OUTPUT: &str = "iot_intervals";

/// The tables `iot_intervals_carried.sql` reads beside the lake's `iot_events`.
pub const PREVIOUS_IOT_INTERVALS: &str = "previous_iot_intervals";
pub const IOT_EVENTS_RECENT: &str = "iot_events_recent";
pub const IOT_EVENTS_ADDED: &str = "iot_events_added";
pub const IOT_LATE_DEVICES: &str = "iot_late_devices";

/// SHA-256 of the SQL that computes the intervals, either way: a run carries only from a run
/// that recorded the same.
pub fn sql_sha256() -> String {
    let mut hasher = Sha256::new();
    for text in [
        IOT_INTERVALS_SQL,
        IOT_INTERVALS_CARRIED_SQL,
        IOT_LATE_DEVICES_SQL,
        IOT_TRANSITIONS_SQL,
    ] {
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    format!("{:x}", hasher.finalize())
}

/// The step that computes this run's `iot_intervals`, its inputs registered, and what the
/// manifest records of it.
pub async fn intervals_step(cx: &mut StageContext, full: bool) -> Result<(Step, Reuse)> {
    let sql_sha256 = sql_sha256();
    let full_step = |detail: String| {
        tracing::info!(%detail, "intervals computed from all history");
        (
            Step::publish(OUTPUT, IOT_INTERVALS_SQL, false),
            Reuse {
                mode: "full".into(),
                key: sql_sha256.clone(),
                from: None,
                detail,
            },
        )
    };
    if full {
        return Ok(full_step("run --full".into()));
    }
    let previous = match carry_from(cx, &sql_sha256).await? {
        Ok(previous) => previous,
        Err(why) => return Ok(full_step(why)),
    };
    let Previous {
        manifest,
        day,
        path,
        added,
        recent,
    } = previous;
    let schema = publish::parquet_schema(&cx.lake, &path).await?;
    register_files(&cx.ctx, &cx.lake, PREVIOUS_IOT_INTERVALS, schema, &[&path]).await?;
    let events = Source::IotEvents.lake_schema();
    for (name, files) in [(IOT_EVENTS_ADDED, &added), (IOT_EVENTS_RECENT, &recent)] {
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        register_files(&cx.ctx, &cx.lake, name, events.clone(), &paths).await?;
    }
    cx.params.carry_from(day);
    // Held in memory: with its size known, the engine builds its joins on it and filters the
    // scan of every event by its devices.
    let started = std::time::Instant::now();
    let late = cx.frame(IOT_LATE_DEVICES_SQL).await?;
    let schema = Arc::new(late.schema().as_arrow().clone());
    let late = late.collect().await?;
    let late_devices: usize = late.iter().map(|b| b.num_rows()).sum();
    register_batches(&cx.ctx, IOT_LATE_DEVICES, schema, late).await?;
    cx.record(IOT_LATE_DEVICES, started);
    let detail = format!(
        "carried from {}: {} IoT files added since ({} rows, {late_devices} devices with late \
         events), {} read for the days since",
        manifest.as_of,
        added.len(),
        added.iter().map(|f| f.rows).sum::<u64>(),
        recent.len()
    );
    tracing::info!(%detail, "intervals carried");
    Ok((
        Step::publish(OUTPUT, IOT_INTERVALS_CARRIED_SQL, false),
        Reuse {
            mode: "carried".into(),
            key: sql_sha256,
            from: Some(manifest.dir.clone()),
            detail,
        },
    ))
}

/// What carrying reads of the previous run and of the lake since.
struct Previous {
    manifest: Manifest,
    /// Its `as_of`.
    day: i32,
    /// The previous run's `iot_intervals.parquet`.
    path: String,
    /// IoT files of this run's snapshot that the previous run did not read.
    added: Vec<DataFile>,
    /// IoT files of the local months from the day after the previous run's on.
    recent: Vec<DataFile>,
}

/// The previous run to carry from, or why there is none (`Ok(Err(why))`).
async fn carry_from(
    cx: &StageContext,
    sql_sha256: &str,
) -> Result<std::result::Result<Previous, String>> {
    let Some(manifest) = cx.last.clone() else {
        return Ok(Err("no earlier run to carry from".into()));
    };
    let day = &manifest.as_of;
    match manifest.reuse.get(OUTPUT) {
        Some(r) if r.key == sql_sha256 => {}
        Some(_) => {
            return Ok(Err(format!(
                "the intervals' SQL changed since the run of {day}"
            )))
        }
        None => {
            return Ok(Err(format!(
                "the run of {day} did not record its intervals' SQL"
            )))
        }
    }
    let Some(path) = manifest.output(OUTPUT, "parquet").map(|o| o.path.clone()) else {
        return Ok(Err(format!("the run of {day} published no {OUTPUT}")));
    };
    let table = Source::IotEvents.name();
    let Some(&then) = manifest.table_versions.get(table) else {
        return Ok(Err(format!("the run of {day} read no {table} table")));
    };
    let now = cx.snapshot.tables.get(table).and_then(|t| t.version);
    if now.is_none_or(|now| now < then) {
        return Ok(Err(format!(
            "{table} is read at an older version than the run of {day} read ({then})"
        )));
    }
    let before = match cx.lake.table_files_at(table, then).await {
        Ok(files) => files,
        Err(e) => {
            return Ok(Err(format!(
                "version {then} of {table} (read by the run of {day}) cannot be read: {e}"
            )))
        }
    };
    let current = cx.snapshot.files(table);
    let (added, removed) = difference(&before, current);
    if removed > 0 {
        return Ok(Err(format!(
            "{removed} {table} files read by the run of {day} were removed since (compaction?)"
        )));
    }
    let Some(previous_day) = parse_date(day) else {
        return Ok(Err(format!("the run's as_of `{day}` is not a date")));
    };
    let recent = files_from_month(current, local_month(previous_day + 1));
    Ok(Ok(Previous {
        manifest,
        day: previous_day,
        path,
        added,
        recent,
    }))
}

/// The files of `now` that `before` does not have, and how many of `before` are gone.
fn difference(before: &[DataFile], now: &[DataFile]) -> (Vec<DataFile>, usize) {
    let then: BTreeSet<&str> = before.iter().map(|f| f.path.as_str()).collect();
    let current: BTreeSet<&str> = now.iter().map(|f| f.path.as_str()).collect();
    let added = now
        .iter()
        .filter(|f| !then.contains(f.path.as_str()))
        .cloned()
        .collect();
    let removed = then.difference(&current).count();
    (added, removed)
}

/// The files in month partitions from `month` (yyyymm) on, and every file outside a month
/// partition (nothing says it holds no later event).
fn files_from_month(files: &[DataFile], month: i32) -> Vec<DataFile> {
    files
        .iter()
        .filter(|f| partition_month(&f.path).is_none_or(|m| m >= month))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::values::{local_day, parse_timestamp};
    use crate::lake::tables::month_partition;

    fn file(path: &str) -> DataFile {
        DataFile {
            path: path.into(),
            rows: 1,
            size: 1,
        }
    }

    #[test]
    fn partitions_are_named_by_local_month() {
        let ts = parse_timestamp("2026-06-30T16:00:00Z").unwrap();
        let month = local_month(local_day(ts));
        assert_eq!(month, 202607);
        let path = format!("tables/iot_events/{}/a.parquet", month_partition(month));
        assert_eq!(path, "tables/iot_events/month=2026-07/a.parquet");
        assert_eq!(partition_month(&path), Some(202607));
        assert_eq!(partition_month("tables/iot_events/a.parquet"), None);
    }

    #[test]
    fn recent_files_are_those_of_later_months_and_unpartitioned_ones() {
        let files = [
            file("tables/iot_events/month=2026-05/a.parquet"),
            file("tables/iot_events/month=2026-06/b.parquet"),
            file("tables/iot_events/month=2026-07/c.parquet"),
            file("tables/iot_events/d.parquet"),
        ];
        let recent: Vec<String> = files_from_month(&files, 202606)
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(
            recent,
            [
                "tables/iot_events/month=2026-06/b.parquet",
                "tables/iot_events/month=2026-07/c.parquet",
                "tables/iot_events/d.parquet"
            ]
        );
    }

    #[test]
    fn added_and_removed_files() {
        let before = [file("a"), file("b")];
        let now = [file("b"), file("c"), file("d")];
        let (added, removed) = difference(&before, &now);
        assert_eq!(
            added.into_iter().map(|f| f.path).collect::<Vec<_>>(),
            ["c", "d"]
        );
        assert_eq!(removed, 1);
    }
}
