-- Risk level (scoring.md §3) of every open unit at $as_of: N open units, `higher` = the open
-- units with a strictly higher probability, "in the top p" = higher < p × N in exact decimal
-- arithmetic (tied units fall together).
-- Inputs: risk_scores (unit_id, open, risk_probability), unit_status (at $as_of).
-- Parameters: $as_of, «risk_top_level4», «risk_top_level3», «risk_top_level2» (exact decimals).
WITH ranked AS (
    SELECT unit_id, risk_probability,
           RANK() OVER (ORDER BY risk_probability DESC) - 1 AS higher,
           COUNT(*) OVER () AS open_units
    FROM risk_scores WHERE open
)
SELECT r.unit_id,
       CAST(CASE WHEN s.major_hazard OR s.credit_grade = 'D'
                      OR r.higher < $risk_top_level4 * r.open_units THEN 4
                 WHEN s.credit_grade = 'C' OR r.higher < $risk_top_level3 * r.open_units THEN 3
                 WHEN r.higher < $risk_top_level2 * r.open_units THEN 2
                 ELSE 1 END AS INT) AS risk_level
FROM ranked r
JOIN unit_status s ON s.unit_id = r.unit_id AND s.cutoff = $as_of
