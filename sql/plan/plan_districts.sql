-- Inspection plan, step 4: per district with a drawn unit, its drawn units and active
-- inspectors; firecredit derives the cap ceil(«plan_inspectors_per_unit» × drawn / active)
-- from these (stages/plan/draw.rs).
-- Inputs: plan_candidates, inspectors.
WITH drawn AS (
    SELECT district_code, COUNT(DISTINCT unit_id) AS drawn
    FROM plan_candidates GROUP BY district_code
),
active AS (
    SELECT district_code, COUNT(*) AS active_inspectors
    FROM inspectors WHERE active GROUP BY district_code
)
SELECT d.district_code, d.drawn, COALESCE(a.active_inspectors, 0) AS active_inspectors
FROM drawn d LEFT JOIN active a ON a.district_code = d.district_code
ORDER BY d.district_code
