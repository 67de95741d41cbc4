-- Enforcement supervision (执法监督预警, supervision.md §7): one row per alert. A source record
-- raises an alert only when its own date is in the last «alert_lookback_days» days
-- (as_of − N < date ≤ as_of). Alerts name officers: the table is internal.
-- Inputs: inspections, inspectors (the roster), violations, complaints, units, voided_events;
-- rule table rule_penalty_bands. Parameters: $as_of, $as_of_day, «alert_lookback_days»,
-- «followup_days», «rotation_run», «complaint_check_days».
--
-- Numbers in `detail` are written without trailing zeros (5000, 2500.5).
WITH known_inspections AS (
    SELECT i.inspection_id, i.unit_id, i.inspected_on, i.kind, i.inspector_ids
    FROM inspections i
    WHERE i.inspected_on <= $as_of
),
officers AS (
    -- One row per inspection and officer named on it (once, if named twice).
    SELECT DISTINCT inspection_id, unit_id, inspected_on, inspector_id
    FROM (SELECT inspection_id, unit_id, inspected_on, unnest(inspector_ids) AS inspector_id
          FROM known_inspections) named
),
recent_officers AS (
    SELECT o.*, u.district_code AS unit_district, r.inspector_id AS on_roster,
           r.district_code AS officer_district
    FROM officers o
    LEFT JOIN units u ON u.unit_id = o.unit_id
    LEFT JOIN inspectors r ON r.inspector_id = o.inspector_id
    WHERE CAST(o.inspected_on AS INT) > $as_of_day - $alert_lookback_days
),
jurisdiction AS (
    -- An officer off the roster, or on it for another district than the unit's.
    SELECT CASE WHEN on_roster IS NULL THEN 'unknown_inspector#' ELSE 'out_of_jurisdiction#' END
               || inspection_id || '#' || inspector_id AS alert_id,
           CASE WHEN on_roster IS NULL THEN 'unknown_inspector' ELSE 'out_of_jurisdiction' END
               AS kind,
           inspected_on AS alert_date, unit_district AS district_code, unit_id,
           inspection_id AS source_id, inspector_id,
           CASE WHEN on_roster IS NOT NULL THEN officer_district END AS detail
    FROM recent_officers
    WHERE on_roster IS NULL OR officer_district <> unit_district
),
live_violations AS (
    -- A violation voided by an upheld objection (scoring.md §1) raises no alert.
    SELECT v.violation_id, v.unit_id, v.code, v.found_on, v.rectify_due, v.penalty_yuan,
           u.district_code
    FROM violations v
    LEFT JOIN voided_events x ON x.unit_id = v.unit_id AND x.ref_id = v.violation_id
    LEFT JOIN units u ON u.unit_id = v.unit_id
    WHERE v.found_on <= $as_of AND x.ref_id IS NULL
),
banded AS (
    SELECT v.*, CAST(b.min_yuan AS DOUBLE) AS min_yuan, CAST(b.max_yuan AS DOUBLE) AS max_yuan
    FROM live_violations v
    JOIN rule_penalty_bands b ON b.code = v.code
    WHERE v.penalty_yuan IS NOT NULL
      AND CAST(v.found_on AS INT) > $as_of_day - $alert_lookback_days
),
penalties AS (
    SELECT CASE WHEN penalty_yuan < min_yuan THEN 'penalty_too_light#' ELSE 'penalty_too_heavy#' END
               || violation_id AS alert_id,
           CASE WHEN penalty_yuan < min_yuan THEN 'penalty_too_light' ELSE 'penalty_too_heavy' END
               AS kind,
           found_on AS alert_date, district_code, unit_id, violation_id AS source_id,
           CAST(NULL AS VARCHAR) AS inspector_id,
           plain_number(penalty_yuan) || '/'
               || plain_number(CASE WHEN penalty_yuan < min_yuan THEN min_yuan ELSE max_yuan END)
               AS detail
    FROM banded
    WHERE penalty_yuan < min_yuan OR penalty_yuan > max_yuan
),
follow_ups AS (
    SELECT unit_id, inspected_on FROM known_inspections WHERE kind = 'follow_up'
),
followup AS (
    -- Due: rectify_due + «followup_days» before as_of, with no follow-up inspection of the
    -- unit after the finding and by that day.
    SELECT 'followup_overdue#' || v.violation_id AS alert_id, 'followup_overdue' AS kind,
           v.rectify_due AS alert_date, v.district_code, v.unit_id, v.violation_id AS source_id,
           CAST(NULL AS VARCHAR) AS inspector_id, CAST(NULL AS VARCHAR) AS detail
    FROM live_violations v
    WHERE v.rectify_due IS NOT NULL
      AND CAST(v.rectify_due AS INT) > $as_of_day - $alert_lookback_days
      AND v.rectify_due <= $as_of
      AND CAST(v.rectify_due AS INT) + $followup_days < $as_of_day
      AND NOT EXISTS (
          SELECT 1 FROM follow_ups f
          WHERE f.unit_id = v.unit_id
            AND f.inspected_on > v.found_on
            AND CAST(f.inspected_on AS INT) <= CAST(v.rectify_due AS INT) + $followup_days)
),
sequenced AS (
    -- Every inspection of a unit in order (inspected_on, then inspection_id), all kinds. One
    -- numbering across units: a unit's inspections get consecutive numbers, all the islands and
    -- runs below need; numbered unit by unit (PARTITION BY), DataFusion pays per partition.
    SELECT inspection_id, unit_id, inspected_on, inspector_ids,
           ROW_NUMBER() OVER (ORDER BY unit_id, inspected_on, inspection_id) AS seq
    FROM known_inspections
),
presence AS (
    SELECT DISTINCT unit_id, seq, unnest(inspector_ids) AS inspector_id FROM sequenced
),
islands AS (
    -- Consecutive inspections of a unit with the same officer share seq − their rank in one
    -- numbering of (unit, officer, seq): within a (unit, officer) it differs from their own
    -- rank by a constant, so the groups are the same.
    SELECT unit_id, inspector_id, seq,
           seq - ROW_NUMBER() OVER (ORDER BY unit_id, inspector_id, seq) AS island
    FROM presence
),
runs AS (
    SELECT unit_id, inspector_id, COUNT(*) AS length, MAX(seq) AS last_seq
    FROM islands
    GROUP BY unit_id, inspector_id, island
    HAVING COUNT(*) >= $rotation_run
),
latest_runs AS (
    SELECT unit_id, inspector_id, length, last_seq,
           ROW_NUMBER() OVER (PARTITION BY unit_id, inspector_id ORDER BY last_seq DESC) AS rn
    FROM runs
),
rotation AS (
    SELECT 'rotation_breach#' || r.unit_id || '#' || r.inspector_id AS alert_id,
           'rotation_breach' AS kind, s.inspected_on AS alert_date, u.district_code, r.unit_id,
           s.inspection_id AS source_id, r.inspector_id, CAST(r.length AS VARCHAR) AS detail
    FROM latest_runs r
    JOIN sequenced s ON s.unit_id = r.unit_id AND s.seq = r.last_seq
    LEFT JOIN units u ON u.unit_id = r.unit_id
    WHERE r.rn = 1
      AND CAST(s.inspected_on AS INT) > $as_of_day - $alert_lookback_days
),
complaint AS (
    SELECT 'complaint_unchecked#' || c.complaint_id AS alert_id, 'complaint_unchecked' AS kind,
           local_day(c.received_at) AS alert_date, u.district_code, c.unit_id,
           c.complaint_id AS source_id, CAST(NULL AS VARCHAR) AS inspector_id,
           CAST(NULL AS VARCHAR) AS detail
    FROM complaints c
    LEFT JOIN units u ON u.unit_id = c.unit_id
    WHERE c.unit_id IS NOT NULL AND c.verified IS NULL
      AND local_day(c.received_at) <= $as_of
      AND CAST(local_day(c.received_at) AS INT) > $as_of_day - $alert_lookback_days
      AND CAST(local_day(c.received_at) AS INT) + $complaint_check_days < $as_of_day
)
SELECT * FROM jurisdiction
UNION ALL SELECT * FROM penalties
UNION ALL SELECT * FROM followup
UNION ALL SELECT * FROM rotation
UNION ALL SELECT * FROM complaint
ORDER BY alert_id
