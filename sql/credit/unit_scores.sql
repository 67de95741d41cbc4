-- Unit scores (scoring.md §1, §3): points, grade, veto and the «reasons_count» largest active deductions
-- for every unit of the registry (closed units too), with the risk probability and level, and
-- (supervision.md §8) whether a pending objection concerns one of its active events and the
-- earliest day a repair of an active violation or fire (or of its X01) can take effect.
-- Inputs: credit_points, credit_ledger, credit_cases, major_hazard_units, risk_scores,
-- risk_levels; rule table rule_classes.
-- Parameters: $as_of, $rules_version, $rules_sha256, $model_version, «reasons_count».
WITH ranked AS (
    -- Largest deduction first; ties: later event date, then the smaller event id.
    SELECT unit_id, code, -points AS deduction,
           ROW_NUMBER() OVER (PARTITION BY unit_id
                              ORDER BY points ASC, event_date DESC, event_id ASC) AS rn
    FROM credit_ledger WHERE status = 'active' AND points < 0
),
reasons AS (
    SELECT unit_id, array_agg(code || ':' || CAST(deduction AS VARCHAR) ORDER BY rn) AS reasons
    FROM ranked WHERE rn <= $reasons_count
    GROUP BY unit_id
),
objected AS (
    -- A pending objection whose ref_id is the event_id of one of the unit's active rows (an
    -- X01's own id is `<violation_id>#X01`, decisions.md 89).
    SELECT DISTINCT c.unit_id
    FROM credit_cases c
    JOIN credit_ledger l ON l.unit_id = c.unit_id AND l.event_id = c.ref_id
    WHERE c.family = 'objection' AND c.decided_on IS NULL AND l.status = 'active'
),
active_sources AS (
    -- The violation or fire behind each active deduction: itself, or an X01's violation.
    SELECT DISTINCT unit_id,
           CASE WHEN kind = 'overdue' THEN substr(event_id, 1, length(event_id) - 4)
                ELSE event_id END AS source_id
    FROM credit_ledger
    WHERE status = 'active' AND kind IN ('violation', 'overdue', 'fire')
),
repairable AS (
    -- A repair takes effect from the source event's date plus its class's minimum wait.
    SELECT a.unit_id,
           MIN(CAST(CAST(l.event_date AS INT) + c.repair_min_days AS DATE)) AS earliest_repairable_on
    FROM active_sources a
    JOIN credit_ledger l ON l.unit_id = a.unit_id AND l.event_id = a.source_id
                        AND l.kind IN ('violation', 'fire')
    JOIN rule_classes c ON c.class = l.class
    GROUP BY a.unit_id
)
SELECT c.unit_id, CAST($as_of AS DATE) AS as_of,
       c.credit_points,
       c.credit_grade,
       c.veto_reason,
       -- No deduction: an empty list, not null.
       COALESCE(r.reasons, arrow_cast(make_array(), 'List(Utf8)')) AS reasons,
       rs.risk_probability,
       l.risk_level,
       m.unit_id IS NOT NULL AS major_hazard,
       rs.risk_reasons,
       CAST($rules_version AS VARCHAR) AS rules_version,
       CAST($rules_sha256 AS VARCHAR) AS rules_sha256,
       CAST($model_version AS VARCHAR) AS model_version,
       o.unit_id IS NOT NULL AS under_objection,
       rp.earliest_repairable_on
FROM credit_points c
LEFT JOIN reasons r ON r.unit_id = c.unit_id
LEFT JOIN major_hazard_units m ON m.unit_id = c.unit_id
LEFT JOIN risk_scores rs ON rs.unit_id = c.unit_id
LEFT JOIN risk_levels l ON l.unit_id = c.unit_id
LEFT JOIN objected o ON o.unit_id = c.unit_id
LEFT JOIN repairable rp ON rp.unit_id = c.unit_id
ORDER BY c.unit_id
