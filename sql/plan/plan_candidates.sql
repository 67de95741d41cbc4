-- Inspection plan, step 3: each drawn unit with every inspector it may get: active, of the
-- unit's district, not listing the unit among their conflicts (回避) and not part of the unit's
-- latest inspection (every inspection on its latest inspected_on ≤ as_of, any kind); u =
-- draw_u(seed:unit_id:inspector_id). A drawn unit without any candidate keeps one row with a
-- null inspector, so it is listed, never dropped.
-- Inputs: plan_population, plan_strata (with n_draw), inspectors, inspections. Parameters:
-- $as_of, $plan_seed.
WITH drawn AS (
    SELECT p.unit_id, p.district_code, p.draw_key
    FROM plan_population p
    JOIN plan_strata s ON s.stratum = p.stratum
    WHERE p.draw_rank <= s.n_draw
),
latest AS (
    SELECT i.unit_id, MAX(i.inspected_on) AS day
    FROM inspections i JOIN drawn d ON d.unit_id = i.unit_id
    WHERE i.inspected_on <= $as_of
    GROUP BY i.unit_id
),
took_part AS (
    SELECT DISTINCT x.unit_id, x.inspector_id
    FROM (SELECT i.unit_id, unnest(i.inspector_ids) AS inspector_id
          FROM inspections i JOIN latest l ON l.unit_id = i.unit_id AND l.day = i.inspected_on) x
),
conflicts AS (
    SELECT DISTINCT inspector_id, unit_id
    FROM (SELECT inspector_id, unnest(conflict_unit_ids) AS unit_id
          FROM inspectors WHERE conflict_unit_ids IS NOT NULL) c
),
pairs AS (
    SELECT d.unit_id, p.inspector_id
    FROM drawn d
    JOIN inspectors p ON p.district_code = d.district_code AND p.active
    LEFT JOIN conflicts c ON c.inspector_id = p.inspector_id AND c.unit_id = d.unit_id
    LEFT JOIN took_part t ON t.inspector_id = p.inspector_id AND t.unit_id = d.unit_id
    WHERE c.unit_id IS NULL AND t.unit_id IS NULL
)
SELECT d.unit_id, d.district_code, d.draw_key, x.inspector_id,
       CASE WHEN x.inspector_id IS NOT NULL
            THEN draw_u(CAST($plan_seed AS VARCHAR) || ':' || d.unit_id || ':' || x.inspector_id)
       END AS u
FROM drawn d
LEFT JOIN pairs x ON x.unit_id = d.unit_id
ORDER BY d.district_code, d.draw_key DESC, d.unit_id, u DESC, x.inspector_id
