-- High fire-risk areas (火灾高风险区域, scoring.md §4): every grid with at least one open unit,
-- five sub-scores as percentile ranks across the G grids (ties: their average rank), the
-- weighted area_index, the level and the two largest weighted sub-scores as drivers.
-- Inputs: open_units, unit_scores, major_hazard_units, incidents, complaints.
-- Parameters: $as_of_day; «area_weight_probability», «area_weight_fires»,
-- «area_weight_hazards», «area_weight_complaints», «area_weight_grades» (exact decimals that
-- sum to 1), «area_fire_days», «area_complaint_days», «area_smoothing_units», «area_level_i»,
-- «area_level_ii», «area_level_iii».
--
-- Exactness: each sub-score is ranked on a single quotient of integers (or on the mean
-- probability rounded to 12 decimals, so that summation order cannot split a tie), and levels
-- and drivers are decided in exact decimal arithmetic: with r2 = 2 × average rank (an integer)
-- and scale = 2(G − 1), a sub-score is 100 (r2 − 2) / scale, so area_index × scale =
-- 100 Σ weight × (r2 − 2), and "≥ 85" is 100 Σ weight × (r2 − 2) ≥ 85 × scale. A lone grid
-- scores 100 everywhere.
WITH scored_units AS (
    SELECT u.unit_id, u.grid_id, u.district_code, s.risk_probability, s.credit_grade,
           m.unit_id IS NOT NULL AS major_hazard
    FROM open_units u
    JOIN unit_scores s ON s.unit_id = u.unit_id
    LEFT JOIN major_hazard_units m ON m.unit_id = u.unit_id
),
grids AS (
    SELECT grid_id,
           MIN(district_code) AS district_code,
           COUNT(*) AS open_units,
           ROUND(AVG(risk_probability), 12) AS mean_risk,
           SUM(CASE WHEN major_hazard THEN 1 ELSE 0 END) AS hazards,
           SUM(CASE WHEN credit_grade IN ('C', 'D') THEN 1 ELSE 0 END) AS graded_cd
    FROM scored_units
    GROUP BY grid_id
),
fires AS (
    SELECT grid_id, COUNT(*) AS fires
    FROM incidents
    WHERE kind = 'fire'
      AND CAST(local_day(occurred_at) AS INT) > $as_of_day - $area_fire_days
      AND CAST(local_day(occurred_at) AS INT) <= $as_of_day
    GROUP BY grid_id
),
complaints_recent AS (
    SELECT grid_id, COUNT(*) AS complaints
    FROM complaints
    WHERE verified
      AND CAST(local_day(received_at) AS INT) > $as_of_day - $area_complaint_days
      AND CAST(local_day(received_at) AS INT) <= $as_of_day
    GROUP BY grid_id
),
measures AS (
    SELECT g.grid_id, g.district_code, g.open_units,
           g.mean_risk AS v_risk,
           CAST(COALESCE(f.fires, 0) AS DOUBLE) / (g.open_units + $area_smoothing_units) AS v_fires,
           CAST(g.hazards AS DOUBLE) / g.open_units AS v_hazards,
           CAST(COALESCE(c.complaints, 0) AS DOUBLE) / g.open_units AS v_complaints,
           CAST(g.graded_cd AS DOUBLE) / g.open_units AS v_grades
    FROM grids g
    LEFT JOIN fires f ON f.grid_id = g.grid_id
    LEFT JOIN complaints_recent c ON c.grid_id = g.grid_id
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
    -- w_* = weight × (r2 − 2), exact decimals: each weighted sub-score times scale / 100; a
    -- lone grid gets the top of every sub-score.
    SELECT grid_id, district_code, open_units, g,
           r_risk - 2 AS x_risk, r_fires - 2 AS x_fires, r_hazards - 2 AS x_hazards,
           r_complaints - 2 AS x_complaints, r_grades - 2 AS x_grades,
           -- One decimal type for the five, whatever the weights (a zero weight must not make
           -- a term of another type).
           CAST($area_weight_probability * CASE WHEN g = 1 THEN 1 ELSE r_risk - 2 END
                AS DECIMAL(38, 9)) AS w_risk,
           CAST($area_weight_fires * CASE WHEN g = 1 THEN 1 ELSE r_fires - 2 END
                AS DECIMAL(38, 9)) AS w_fires,
           CAST($area_weight_hazards * CASE WHEN g = 1 THEN 1 ELSE r_hazards - 2 END
                AS DECIMAL(38, 9)) AS w_hazards,
           CAST($area_weight_complaints * CASE WHEN g = 1 THEN 1 ELSE r_complaints - 2 END
                AS DECIMAL(38, 9)) AS w_complaints,
           CAST($area_weight_grades * CASE WHEN g = 1 THEN 1 ELSE r_grades - 2 END
                AS DECIMAL(38, 9)) AS w_grades,
           CASE WHEN g = 1 THEN 1 ELSE 2 * (g - 1) END AS scale
    FROM ranked
),
totals AS (
    SELECT *, (w_risk + w_fires + w_hazards + w_complaints + w_grades) * 100 AS index_x_scale
    FROM weighted
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
SELECT t.grid_id, t.district_code, t.open_units,
       CASE WHEN t.g = 1 THEN 100.0 ELSE CAST(t.x_risk AS DOUBLE) * 100.0 / t.scale END AS s_risk,
       CASE WHEN t.g = 1 THEN 100.0 ELSE CAST(t.x_fires AS DOUBLE) * 100.0 / t.scale END AS s_fires,
       CASE WHEN t.g = 1 THEN 100.0 ELSE CAST(t.x_hazards AS DOUBLE) * 100.0 / t.scale END AS s_hazards,
       CASE WHEN t.g = 1 THEN 100.0 ELSE CAST(t.x_complaints AS DOUBLE) * 100.0 / t.scale END AS s_complaints,
       CASE WHEN t.g = 1 THEN 100.0 ELSE CAST(t.x_grades AS DOUBLE) * 100.0 / t.scale END AS s_grades,
       CAST(t.index_x_scale AS DOUBLE) / t.scale AS area_index,
       CASE WHEN t.index_x_scale >= $area_level_i * t.scale THEN 'I'
            WHEN t.index_x_scale >= $area_level_ii * t.scale THEN 'II'
            WHEN t.index_x_scale >= $area_level_iii * t.scale THEN 'III'
            ELSE 'IV' END AS level,
       d.names AS drivers
FROM totals t
JOIN drivers d ON d.grid_id = t.grid_id
ORDER BY t.grid_id
