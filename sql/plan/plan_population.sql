-- Double-random inspection plan (双随机、一公开, scoring.md §5), step 1: the draw's population.
-- Every eligible open unit (no `random` inspection in the last «plan_recent_days» days, fewer
-- than «plan_year_max» in the last «plan_year_days»), its stratum (a campaign use type splits
-- off its own sub-stratum), its weight (grade factor × risk-level factor), u =
-- draw_u(seed:unit_id) and the Efraimidis–Spirakis key ln(u) / weight, ranked within its stratum
-- (largest key first; ties: smaller unit_id).
-- Inputs: open_units, unit_scores, inspections, campaign. Parameters: $as_of, $as_of_day,
-- $plan_seed, «plan_recent_days», «plan_year_days», «plan_year_max», «plan_grade_factor_a» …
-- «plan_grade_factor_d», «plan_risk_factor_1» … «plan_risk_factor_4». draw_u is firecredit's
-- function (SHA-256, see engine/functions/mod.rs).
WITH random_recent AS (
    SELECT unit_id,
           SUM(CASE WHEN CAST(inspected_on AS INT) > $as_of_day - $plan_recent_days
                    THEN 1 ELSE 0 END) AS recent,
           COUNT(*) AS in_year
    FROM inspections
    WHERE kind = 'random'
      AND CAST(inspected_on AS INT) > $as_of_day - $plan_year_days
      AND inspected_on <= $as_of
    GROUP BY unit_id
),
eligible AS (
    SELECT u.unit_id, u.district_code, u.use_type, s.credit_grade, s.risk_level,
           CASE WHEN u.key_unit AND u.crowded_place THEN 'S1'
                WHEN u.key_unit THEN 'S2'
                ELSE 'S3' END AS base_stratum
    FROM open_units u
    JOIN unit_scores s ON s.unit_id = u.unit_id
    LEFT JOIN random_recent r ON r.unit_id = u.unit_id
    WHERE COALESCE(r.recent, 0) = 0
      AND COALESCE(r.in_year, 0) < $plan_year_max
),
weighted AS (
    SELECT e.unit_id, e.district_code, e.base_stratum,
           CASE WHEN c.use_type IS NULL THEN e.base_stratum
                ELSE e.base_stratum || ':' || c.use_type END AS stratum,
           e.credit_grade, e.risk_level,
           CASE e.credit_grade WHEN 'A' THEN $plan_grade_factor_a
                               WHEN 'B' THEN $plan_grade_factor_b
                               WHEN 'C' THEN $plan_grade_factor_c
                               WHEN 'D' THEN $plan_grade_factor_d END
           * CASE e.risk_level WHEN 1 THEN $plan_risk_factor_1
                               WHEN 2 THEN $plan_risk_factor_2
                               WHEN 3 THEN $plan_risk_factor_3
                               WHEN 4 THEN $plan_risk_factor_4 END AS weight,
           draw_u(CAST($plan_seed AS VARCHAR) || ':' || e.unit_id) AS u
    FROM eligible e
    LEFT JOIN campaign c ON c.use_type = e.use_type
),
keyed AS (
    -- A grade or level outside the factors has no weight and cannot be drawn.
    SELECT *, ln(u) / weight AS draw_key FROM weighted WHERE weight IS NOT NULL
)
SELECT unit_id, district_code, base_stratum, stratum, credit_grade, risk_level, weight, u,
       draw_key,
       ROW_NUMBER() OVER (PARTITION BY stratum ORDER BY draw_key DESC, unit_id) AS draw_rank
FROM keyed
ORDER BY stratum, draw_rank
