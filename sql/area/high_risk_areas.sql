-- High fire-risk areas (火灾高风险区域, scoring.md §4): every grid with at least one open unit,
-- five sub-scores as percentile ranks across the G grids (ties: their average rank), the
-- weighted area_index, the level and the two largest weighted sub-scores as drivers.
-- Inputs: units, unit_scores, major_hazard_units, incidents, complaints. Parameter: $as_of_day.
--
-- Exactness: each sub-score is ranked on a single quotient of integers (or on the mean
-- probability rounded to 12 decimals, so that summation order cannot split a tie), and levels
-- and drivers are decided on integers: with r2 = 2 × average rank (an integer),
-- area_index × 2(G − 1) = Σ W × (r2 − 2) with W = 30, 25, 20, 15, 10, so "≥ 85" is
-- Σ W × (r2 − 2) ≥ 170 (G − 1), and a lone grid scores 100 everywhere.
WITH open_units AS (
    SELECT u.unit_id, u.grid_id, u.district_code, s.risk_probability, s.credit_grade,
           m.unit_id IS NOT NULL AS major_hazard
    FROM units u
    JOIN unit_scores s ON s.unit_id = u.unit_id
    LEFT JOIN major_hazard_units m ON m.unit_id = u.unit_id
    WHERE COALESCE(u.status, 'open') <> 'closed'
),
grids AS (
    SELECT grid_id,
           MIN(district_code) AS district_code,
           COUNT(*) AS open_units,
           ROUND(AVG(risk_probability), 12) AS mean_risk,
           SUM(CASE WHEN major_hazard THEN 1 ELSE 0 END) AS hazards,
           SUM(CASE WHEN credit_grade IN ('C', 'D') THEN 1 ELSE 0 END) AS graded_cd
    FROM open_units
    GROUP BY grid_id
),
fires AS (
    SELECT grid_id, COUNT(*) AS fires
    FROM incidents
    WHERE kind = 'fire'
      AND CAST(CAST(occurred_at + INTERVAL '8 hours' AS DATE) AS INT) > $as_of_day - 1095
      AND CAST(CAST(occurred_at + INTERVAL '8 hours' AS DATE) AS INT) <= $as_of_day
    GROUP BY grid_id
),
complaints_365 AS (
    SELECT grid_id, COUNT(*) AS complaints
    FROM complaints
    WHERE verified
      AND CAST(CAST(received_at + INTERVAL '8 hours' AS DATE) AS INT) > $as_of_day - 365
      AND CAST(CAST(received_at + INTERVAL '8 hours' AS DATE) AS INT) <= $as_of_day
    GROUP BY grid_id
),
measures AS (
    SELECT g.grid_id, g.district_code, g.open_units,
           g.mean_risk AS v_risk,
           CAST(COALESCE(f.fires, 0) AS DOUBLE) / (g.open_units + 20) AS v_fires,
           CAST(g.hazards AS DOUBLE) / g.open_units AS v_hazards,
           CAST(COALESCE(c.complaints, 0) AS DOUBLE) / g.open_units AS v_complaints,
           CAST(g.graded_cd AS DOUBLE) / g.open_units AS v_grades
    FROM grids g
    LEFT JOIN fires f ON f.grid_id = g.grid_id
    LEFT JOIN complaints_365 c ON c.grid_id = g.grid_id
),
ranked AS (
    -- r2 = 2 × average 1-based rank = 2 × (first rank) + (tied count) − 1 = first rank + (rows
    -- up to and including the ties), since tied count = rows up to the ties − first rank + 1.
    -- One ORDER BY per measure and no PARTITION BY: a single sort each, and a plan Ballista's
    -- static planner can split (its stages lose the ordering a PARTITION BY window asserts).
    SELECT grid_id, district_code, open_units,
           COUNT(*) OVER () AS g,
           RANK() OVER (ORDER BY v_risk) + COUNT(*) OVER (ORDER BY v_risk) AS r_risk,
           RANK() OVER (ORDER BY v_fires) + COUNT(*) OVER (ORDER BY v_fires) AS r_fires,
           RANK() OVER (ORDER BY v_hazards) + COUNT(*) OVER (ORDER BY v_hazards) AS r_hazards,
           RANK() OVER (ORDER BY v_complaints) + COUNT(*) OVER (ORDER BY v_complaints) AS r_complaints,
           RANK() OVER (ORDER BY v_grades) + COUNT(*) OVER (ORDER BY v_grades) AS r_grades
    FROM measures
),
weighted AS (
    -- w_* = W × (r2 − 2): each weighted sub-score times 2(G − 1); a lone grid gets the top.
    SELECT grid_id, district_code, open_units, g,
           CASE WHEN g = 1 THEN 30 ELSE 30 * (r_risk - 2) END AS w_risk,
           CASE WHEN g = 1 THEN 25 ELSE 25 * (r_fires - 2) END AS w_fires,
           CASE WHEN g = 1 THEN 20 ELSE 20 * (r_hazards - 2) END AS w_hazards,
           CASE WHEN g = 1 THEN 15 ELSE 15 * (r_complaints - 2) END AS w_complaints,
           CASE WHEN g = 1 THEN 10 ELSE 10 * (r_grades - 2) END AS w_grades,
           CASE WHEN g = 1 THEN 1 ELSE 2 * (g - 1) END AS scale
    FROM ranked
),
drivers AS (
    -- The two largest weighted sub-scores; ties in the order of scoring.md's table.
    SELECT grid_id,
           array_agg(name ORDER BY w DESC, ord) AS names
    FROM (
        SELECT grid_id, name, w, ord,
               ROW_NUMBER() OVER (PARTITION BY grid_id ORDER BY w DESC, ord) AS rn
        FROM (
            SELECT grid_id, unnest(make_array('s_risk', 's_fires', 's_hazards', 's_complaints', 's_grades')) AS name,
                   unnest(make_array(w_risk, w_fires, w_hazards, w_complaints, w_grades)) AS w,
                   unnest(make_array(1, 2, 3, 4, 5)) AS ord
            FROM weighted
        ) AS parts
    ) AS top
    WHERE rn <= 2
    GROUP BY grid_id
)
SELECT w.grid_id, w.district_code, w.open_units,
       CAST(w.w_risk AS DOUBLE) * 100.0 / (30 * w.scale) AS s_risk,
       CAST(w.w_fires AS DOUBLE) * 100.0 / (25 * w.scale) AS s_fires,
       CAST(w.w_hazards AS DOUBLE) * 100.0 / (20 * w.scale) AS s_hazards,
       CAST(w.w_complaints AS DOUBLE) * 100.0 / (15 * w.scale) AS s_complaints,
       CAST(w.w_grades AS DOUBLE) * 100.0 / (10 * w.scale) AS s_grades,
       CAST(w.w_risk + w.w_fires + w.w_hazards + w.w_complaints + w.w_grades AS DOUBLE) / w.scale
           AS area_index,
       CASE WHEN w.w_risk + w.w_fires + w.w_hazards + w.w_complaints + w.w_grades >= 85 * w.scale THEN 'I'
            WHEN w.w_risk + w.w_fires + w.w_hazards + w.w_complaints + w.w_grades >= 65 * w.scale THEN 'II'
            WHEN w.w_risk + w.w_fires + w.w_hazards + w.w_complaints + w.w_grades >= 25 * w.scale THEN 'III'
            ELSE 'IV' END AS level,
       d.names AS drivers
FROM weighted w
JOIN drivers d ON d.grid_id = w.grid_id
ORDER BY w.grid_id
