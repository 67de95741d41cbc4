-- Credit ledger (scoring.md §1): every credit event known at as_of, with its arithmetic and
-- status, plus one row per ineffective (too early) repair.
-- Inputs: lake tables violations, incidents, credit_actions; voided_events (objections
-- upheld); rule tables rule_violations, rule_bonuses, rule_classes. Parameters: $as_of (date),
-- $as_of_day (its day number), «repeat_window_days».
-- Day arithmetic uses day numbers (CAST(date AS INT)) so that it is exact and engine-neutral.
WITH v AS (
    SELECT v.unit_id, v.violation_id, v.code, v.found_on, v.rectify_due,
           CASE WHEN v.rectified_on <= $as_of THEN v.rectified_on END AS rectified_on,
           CAST(v.found_on AS INT) AS found_d,
           o.void_action
    FROM violations v
    LEFT JOIN voided_events o ON o.unit_id = v.unit_id AND o.ref_id = v.violation_id
    WHERE v.found_on <= $as_of
),
repeats AS (
    -- Doubled when another non-voided violation of the same code came 1..«repeat_window_days»
    -- days before.
    SELECT e.violation_id, MIN(o.violation_id) AS repeat_of
    FROM v e
    JOIN v o ON o.unit_id = e.unit_id AND o.code = e.code AND o.void_action IS NULL
    WHERE e.found_d - o.found_d BETWEEN 1 AND $repeat_window_days
    GROUP BY e.violation_id
),
violation_events AS (
    SELECT v.unit_id, v.violation_id AS event_id, v.code, 'violation' AS kind,
           v.found_on AS event_date, v.violation_id AS source_id,
           rp.repeat_of,
           COALESCE(v.rectified_on <= v.rectify_due
                    OR (v.rectify_due IS NULL AND v.rectified_on <= v.found_on), false) AS timely,
           v.void_action
    FROM v LEFT JOIN repeats rp ON rp.violation_id = v.violation_id
),
overdue_events AS (
    -- X01: not rectified by its due date (a due date before as_of).
    SELECT v.unit_id, v.violation_id || '#X01' AS event_id, 'X01' AS code, 'overdue' AS kind,
           CAST(CAST(v.rectify_due AS INT) + 1 AS DATE) AS event_date,
           v.violation_id AS source_id,
           CAST(NULL AS VARCHAR) AS repeat_of, false AS timely, v.void_action
    FROM v
    WHERE v.rectify_due < $as_of
      AND (v.rectified_on IS NULL OR v.rectified_on > v.rectify_due)
),
fire_events AS (
    SELECT i.unit_id, i.incident_id AS event_id,
           CASE WHEN COALESCE(i.deaths, 0) > 0 THEN 'F3'
                WHEN COALESCE(i.injuries, 0) > 0 THEN 'F2'
                ELSE 'F1' END AS code,
           'fire' AS kind,
           local_day(i.occurred_at) AS event_date,
           i.incident_id AS source_id,
           CAST(NULL AS VARCHAR) AS repeat_of, false AS timely, o.void_action
    FROM incidents i
    LEFT JOIN voided_events o ON o.unit_id = i.unit_id AND o.ref_id = i.incident_id
    WHERE i.kind = 'fire' AND i.unit_id IS NOT NULL AND i.unit_responsible
      AND local_day(i.occurred_at) <= $as_of
),
deduction_events AS (
    SELECT e.*, r.class, r.points AS base_points, c.window_days
    FROM (SELECT * FROM violation_events
          UNION ALL SELECT * FROM overdue_events
          UNION ALL SELECT * FROM fire_events) e
    JOIN rule_violations r ON r.code = e.code
    JOIN rule_classes c ON c.class = r.class
),
repairs AS (
    SELECT a.unit_id, a.action_id, a.ref_id, a.effective_on
    FROM credit_actions a
    WHERE a.kind = 'repair' AND a.effective_on <= $as_of
),
source_events AS (
    -- What a repair may reference: a violation or a fire, with its class's minimum wait. An
    -- X01 shares its violation's source_id, so it is repaired with it, on the violation's terms.
    SELECT e.unit_id, e.event_id AS source_id, e.code, e.event_date, c.repair_min_days
    FROM (SELECT unit_id, event_id, code, event_date FROM violation_events
          UNION ALL SELECT unit_id, event_id, code, event_date FROM fire_events) e
    JOIN rule_violations r ON r.code = e.code
    JOIN rule_classes c ON c.class = r.class
),
repair_checks AS (
    SELECT rp.unit_id, rp.action_id, rp.ref_id, rp.effective_on, s.code, s.event_date,
           CAST(rp.effective_on AS INT) >= CAST(s.event_date AS INT) + s.repair_min_days AS effective
    FROM repairs rp
    JOIN source_events s ON s.unit_id = rp.unit_id AND s.source_id = rp.ref_id
),
effective_repairs AS (
    SELECT unit_id, ref_id, MIN(effective_on) AS repaired_on, MIN(action_id) AS repair_action
    FROM repair_checks WHERE effective
    GROUP BY unit_id, ref_id
),
ledger AS (
    SELECT d.unit_id, d.event_id, CAST(NULL AS VARCHAR) AS ref_id, d.code, d.kind, d.class,
           d.event_date,
           CAST(CAST(d.event_date AS INT) + d.window_days - 1 AS DATE) AS window_end,
           d.base_points,
           d.repeat_of IS NOT NULL AS repeated, d.repeat_of, d.timely,
           -((d.base_points * CASE WHEN d.kind = 'violation' AND d.repeat_of IS NOT NULL THEN 2 ELSE 1 END)
             / CASE WHEN d.kind = 'violation' AND d.timely THEN 2 ELSE 1 END) AS points,
           CASE WHEN d.void_action IS NOT NULL THEN 'voided'
                WHEN er.repaired_on IS NOT NULL THEN 'repaired'
                WHEN $as_of_day < CAST(d.event_date AS INT) + d.window_days THEN 'active'
                ELSE 'expired' END AS status,
           d.void_action, er.repair_action, er.repaired_on
    FROM deduction_events d
    LEFT JOIN effective_repairs er ON er.unit_id = d.unit_id AND er.ref_id = d.source_id
    UNION ALL
    SELECT a.unit_id, a.action_id AS event_id, CAST(NULL AS VARCHAR) AS ref_id, a.code,
           'bonus' AS kind, CAST(NULL AS VARCHAR) AS class, a.effective_on AS event_date,
           CAST(CAST(a.effective_on AS INT) + b.window_days - 1 AS DATE) AS window_end,
           b.points AS base_points, false AS repeated, CAST(NULL AS VARCHAR) AS repeat_of,
           false AS timely, b.points AS points,
           CASE WHEN $as_of_day < CAST(a.effective_on AS INT) + b.window_days THEN 'active'
                ELSE 'expired' END AS status,
           CAST(NULL AS VARCHAR) AS void_action, CAST(NULL AS VARCHAR) AS repair_action,
           CAST(NULL AS DATE) AS repaired_on
    FROM credit_actions a
    JOIN rule_bonuses b ON b.code = a.code
    WHERE a.kind = 'bonus' AND a.effective_on <= $as_of
    UNION ALL
    SELECT rc.unit_id, rc.action_id AS event_id, rc.ref_id, rc.code, 'repair' AS kind,
           CAST(NULL AS VARCHAR) AS class, rc.effective_on AS event_date,
           CAST(NULL AS DATE) AS window_end, 0 AS base_points, false AS repeated,
           CAST(NULL AS VARCHAR) AS repeat_of, false AS timely, 0 AS points,
           'repair_too_early' AS status,
           CAST(NULL AS VARCHAR) AS void_action, CAST(NULL AS VARCHAR) AS repair_action,
           CAST(NULL AS DATE) AS repaired_on
    FROM repair_checks rc
    WHERE NOT rc.effective
)
SELECT * FROM ledger
ORDER BY unit_id, event_date, event_id
