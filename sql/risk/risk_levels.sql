-- Risk level (scoring.md §3) of every open unit at $as_of: N open units, `higher` = the open
-- units with a strictly higher probability, "in the top p" = higher < p × N in exact integer
-- arithmetic (tied units fall together).
-- Inputs: risk_scores (unit_id, open, risk_probability), unit_status (at $as_of).
WITH ranked AS (
    SELECT unit_id, risk_probability,
           RANK() OVER (ORDER BY risk_probability DESC) - 1 AS higher,
           COUNT(*) OVER () AS open_units
    FROM risk_scores WHERE open
)
SELECT r.unit_id,
       CAST(CASE WHEN s.major_hazard OR s.credit_grade = 'D' OR r.higher * 100 < 5 * r.open_units THEN 4
                 WHEN s.credit_grade = 'C' OR r.higher * 100 < 20 * r.open_units THEN 3
                 WHEN r.higher * 100 < 50 * r.open_units THEN 2
                 ELSE 1 END AS INT) AS risk_level
FROM ranked r
JOIN unit_status s ON s.unit_id = r.unit_id AND s.cutoff = $as_of
