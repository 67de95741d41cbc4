-- Double-random inspection plan (双随机、一公开, scoring.md §5), step 1: the draw's population.
-- Every eligible open unit (no `random` inspection in the last 180 days, fewer than two in the
-- last 365), its stratum (a campaign use type splits off its own sub-stratum), its weight
-- (grade factor × risk-level factor), u = draw_u(seed:unit_id) and the Efraimidis–Spirakis key
-- ln(u) / weight, ranked within its stratum (largest key first; ties: smaller unit_id).
-- Inputs: units, unit_scores, inspections, campaign, plan_factors. Parameters: $as_of,
-- $as_of_day, $plan_seed. draw_u is firecredit's function (SHA-256, see plan/draw.rs).
WITH random_recent AS (
    SELECT unit_id,
           SUM(CASE WHEN CAST(inspected_on AS INT) > $as_of_day - 180 THEN 1 ELSE 0 END) AS last_180,
           COUNT(*) AS last_365
    FROM inspections
    WHERE kind = 'random'
      AND CAST(inspected_on AS INT) > $as_of_day - 365
      AND inspected_on <= $as_of
    GROUP BY unit_id
),
eligible AS (
    SELECT u.unit_id, u.district_code, u.use_type, s.credit_grade, s.risk_level,
           CASE WHEN u.key_unit AND u.crowded_place THEN 'S1'
                WHEN u.key_unit THEN 'S2'
                ELSE 'S3' END AS base_stratum
    FROM units u
    JOIN unit_scores s ON s.unit_id = u.unit_id
    LEFT JOIN random_recent r ON r.unit_id = u.unit_id
    WHERE COALESCE(u.status, 'open') <> 'closed'
      AND COALESCE(r.last_180, 0) = 0
      AND COALESCE(r.last_365, 0) < 2
),
weighted AS (
    SELECT e.unit_id, e.district_code, e.base_stratum,
           CASE WHEN c.use_type IS NULL THEN e.base_stratum
                ELSE e.base_stratum || ':' || c.use_type END AS stratum,
           e.credit_grade, e.risk_level,
           g.factor * l.factor AS weight,
           draw_u(CAST($plan_seed AS VARCHAR) || ':' || e.unit_id) AS u
    FROM eligible e
    LEFT JOIN campaign c ON c.use_type = e.use_type
    JOIN plan_factors g ON g.factor_of = 'credit_grade' AND g.value = e.credit_grade
    JOIN plan_factors l ON l.factor_of = 'risk_level' AND l.value = CAST(e.risk_level AS VARCHAR)
),
keyed AS (
    SELECT *, ln(u) / weight AS draw_key FROM weighted
)
SELECT unit_id, district_code, base_stratum, stratum, credit_grade, risk_level, weight, u,
       draw_key,
       ROW_NUMBER() OVER (PARTITION BY stratum ORDER BY draw_key DESC, unit_id) AS draw_rank
FROM keyed
ORDER BY stratum, draw_rank
