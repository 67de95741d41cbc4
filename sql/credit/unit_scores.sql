-- Unit scores (scoring.md §1): points, grade, veto and the three largest active deductions for
-- every unit of the registry (closed units too). Inputs: units, credit_ledger, rule_violations,
-- major_hazard_units. Parameters: $as_of, $rules_version, $rules_sha256.
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
)
SELECT s.unit_id, CAST($as_of AS DATE) AS as_of,
       CAST(s.credit_points AS BIGINT) AS credit_points,
       CASE WHEN s.veto_reason IS NOT NULL THEN 'D'
            WHEN s.credit_points >= 950 THEN 'A'
            WHEN s.credit_points >= 850 THEN 'B'
            WHEN s.credit_points >= 700 THEN 'C'
            ELSE 'D' END AS credit_grade,
       s.veto_reason,
       s.reasons,
       -- Filled by the risk stage (scoring.md §3) when it lands.
       CAST(NULL AS DOUBLE) AS risk_probability,
       CAST(NULL AS INT) AS risk_level,
       s.major_hazard,
       CAST($rules_version AS VARCHAR) AS rules_version,
       CAST($rules_sha256 AS VARCHAR) AS rules_sha256,
       CAST(NULL AS VARCHAR) AS model_version
FROM scored s
ORDER BY s.unit_id
