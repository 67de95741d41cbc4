-- Unit scores (scoring.md §1, §3): points, grade, veto and the «reasons_count» largest active deductions
-- for every unit of the registry (closed units too), with the risk probability and level.
-- Inputs: credit_points, credit_ledger, major_hazard_units, risk_scores, risk_levels.
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
       CAST($model_version AS VARCHAR) AS model_version
FROM credit_points c
LEFT JOIN reasons r ON r.unit_id = c.unit_id
LEFT JOIN major_hazard_units m ON m.unit_id = c.unit_id
LEFT JOIN risk_scores rs ON rs.unit_id = c.unit_id
LEFT JOIN risk_levels l ON l.unit_id = c.unit_id
ORDER BY c.unit_id
