-- Feed `changes` (docs/feed.md): units whose credit grade or risk level differs from the
-- previous published run's (a unit missing there counts as changed). Empty when there is no
-- previous run. Inputs: unit_scores, previous_unit_scores, previous_run (zero or one row).
SELECT 'firecredit-changes/1' AS schema_version,
       s.unit_id, r.as_of AS previous_as_of, s.as_of,
       p.credit_grade AS previous_grade, s.credit_grade,
       p.risk_level AS previous_risk_level, s.risk_level,
       (s.credit_grade IS DISTINCT FROM p.credit_grade) AS grade_changed,
       (s.risk_level IS DISTINCT FROM p.risk_level) AS risk_level_changed
FROM unit_scores s
CROSS JOIN previous_run r
LEFT JOIN previous_unit_scores p ON p.unit_id = s.unit_id
WHERE (s.credit_grade IS DISTINCT FROM p.credit_grade)
   OR (s.risk_level IS DISTINCT FROM p.risk_level)
ORDER BY s.unit_id
