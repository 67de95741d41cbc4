-- Unit scores (scoring.md §1): points, grade, veto and the three largest active deductions for
-- every unit of the registry (closed units too). Inputs: units, credit_ledger, rule_violations,
-- major_hazard_units, risk_scores. Parameters: $as_of, $rules_version, $rules_sha256,
-- $model_version.
WITH active AS (
    SELECT * FROM credit_ledger WHERE status = 'active'
),
totals AS (
    SELECT unit_id,
           SUM(CASE WHEN points < 0 THEN -points ELSE 0 END) AS deductions,
           SUM(CASE WHEN points > 0 THEN points ELSE 0 END) AS bonuses
    FROM active GROUP BY unit_id
),
vetoes AS (
    SELECT a.unit_id, array_to_string(array_sort(array_agg(DISTINCT a.code)), ';') AS veto_reason
    FROM active a JOIN rule_violations r ON r.code = a.code
    WHERE r.veto
    GROUP BY a.unit_id
),
ranked AS (
    -- Largest deduction first; ties: later event date, then the smaller event id.
    SELECT unit_id, code, -points AS deduction,
           ROW_NUMBER() OVER (PARTITION BY unit_id
                              ORDER BY points ASC, event_date DESC, event_id ASC) AS rn
    FROM active WHERE points < 0
),
reasons AS (
    SELECT unit_id, array_agg(code || ':' || CAST(deduction AS VARCHAR) ORDER BY rn) AS reasons
    FROM ranked WHERE rn <= 3
    GROUP BY unit_id
),
risk AS (
    -- Rank among open units: `higher` = open units with a strictly higher probability.
    SELECT unit_id, risk_probability,
           RANK() OVER (ORDER BY risk_probability DESC) - 1 AS higher,
           COUNT(*) OVER () AS open_units
    FROM risk_scores WHERE open
),
scored AS (
    SELECT u.unit_id,
           GREATEST(0, LEAST(1100, 1000 - COALESCE(t.deductions, 0)
                                     + LEAST(COALESCE(t.bonuses, 0), 100))) AS credit_points,
           v.veto_reason, m.unit_id IS NOT NULL AS major_hazard,
           -- No deduction: an empty list, not null.
           COALESCE(r.reasons, arrow_cast(make_array(), 'List(Utf8)')) AS reasons
    FROM units u
    LEFT JOIN totals t ON t.unit_id = u.unit_id
    LEFT JOIN vetoes v ON v.unit_id = u.unit_id
    LEFT JOIN reasons r ON r.unit_id = u.unit_id
    LEFT JOIN major_hazard_units m ON m.unit_id = u.unit_id
),
graded AS (
    SELECT s.*,
           CASE WHEN s.veto_reason IS NOT NULL THEN 'D'
                WHEN s.credit_points >= 950 THEN 'A'
                WHEN s.credit_points >= 850 THEN 'B'
                WHEN s.credit_points >= 700 THEN 'C'
                ELSE 'D' END AS credit_grade
    FROM scored s
)
SELECT g.unit_id, CAST($as_of AS DATE) AS as_of,
       CAST(g.credit_points AS BIGINT) AS credit_points,
       g.credit_grade,
       g.veto_reason,
       g.reasons,
       rs.risk_probability,
       -- scoring.md §3, "in the top p" = higher < p × N, in exact integer arithmetic.
       CAST(CASE WHEN r.unit_id IS NULL THEN NULL
                 WHEN g.major_hazard OR g.credit_grade = 'D' OR r.higher * 100 < 5 * r.open_units THEN 4
                 WHEN g.credit_grade = 'C' OR r.higher * 100 < 20 * r.open_units THEN 3
                 WHEN r.higher * 100 < 50 * r.open_units THEN 2
                 ELSE 1 END AS INT) AS risk_level,
       g.major_hazard,
       rs.risk_reasons,
       CAST($rules_version AS VARCHAR) AS rules_version,
       CAST($rules_sha256 AS VARCHAR) AS rules_sha256,
       CAST($model_version AS VARCHAR) AS model_version
FROM graded g
LEFT JOIN risk_scores rs ON rs.unit_id = g.unit_id
LEFT JOIN risk r ON r.unit_id = g.unit_id
ORDER BY g.unit_id
