-- Each unit's credit points, grade and major-hazard flag at $as_of: the risk features read them
-- at every model cutoff, and the risk levels need them at the scored day and the backtest's.
-- Inputs: credit_points, major_hazard_units (both computed for $as_of). Parameter: $as_of.
SELECT CAST($as_of AS DATE) AS cutoff, c.unit_id, c.credit_points, c.credit_grade,
       m.unit_id IS NOT NULL AS major_hazard
FROM credit_points c
LEFT JOIN major_hazard_units m ON m.unit_id = c.unit_id
ORDER BY c.unit_id
