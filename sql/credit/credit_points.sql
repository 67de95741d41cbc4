-- Credit points and grade (scoring.md §1) of every unit of the registry, from the active rows of
-- the ledger: base − deductions + min(bonuses, cap), clamped to [0, max]; a veto code makes
-- the grade D whatever the points. Inputs: units, credit_ledger, rule_violations.
-- Parameters: «credit_base», «credit_max», «bonus_cap», «grade_a_min», «grade_b_min»,
-- «grade_c_min». Run at as_of for unit_scores and at each model cutoff for the risk features.
WITH totals AS (
    SELECT unit_id,
           SUM(CASE WHEN points < 0 THEN -points ELSE 0 END) AS deductions,
           SUM(CASE WHEN points > 0 THEN points ELSE 0 END) AS bonuses
    FROM credit_ledger
    WHERE status = 'active'
    GROUP BY unit_id
),
vetoes AS (
    -- Few units have an active veto code: grouped apart, so that the sums above stay cheap.
    SELECT l.unit_id, array_to_string(array_sort(array_agg(DISTINCT l.code)), ';') AS veto_reason
    FROM credit_ledger l
    JOIN rule_violations r ON r.code = l.code
    WHERE l.status = 'active' AND r.veto
    GROUP BY l.unit_id
),
points AS (
    SELECT u.unit_id,
           CAST(GREATEST(0, LEAST($credit_max, $credit_base - COALESCE(t.deductions, 0)
                                        + LEAST(COALESCE(t.bonuses, 0), $bonus_cap))) AS BIGINT) AS credit_points,
           x.veto_reason
    FROM units u
    LEFT JOIN totals t ON t.unit_id = u.unit_id
    LEFT JOIN vetoes x ON x.unit_id = u.unit_id
)
SELECT unit_id, credit_points,
       CASE WHEN veto_reason IS NOT NULL THEN 'D'
            WHEN credit_points >= $grade_a_min THEN 'A'
            WHEN credit_points >= $grade_b_min THEN 'B'
            WHEN credit_points >= $grade_c_min THEN 'C'
            ELSE 'D' END AS credit_grade,
       veto_reason
FROM points
