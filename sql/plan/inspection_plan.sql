-- Inspection plan, step 5: the published plan, one row per drawn unit. Public: unit ids,
-- district, stratum, the draw's numbers and inspector ids only (no names, no phone numbers).
-- Inputs: plan_population, plan_assignments (status, reason, inspector_1 … inspector_N, N =
-- «plan_inspectors_per_unit»). Parameter: $plan_seed.
SELECT p.unit_id, p.district_code, p.stratum, p.weight, p.u, p.draw_key,
       a.* EXCLUDE (unit_id),
       CAST($plan_seed AS VARCHAR) AS seed
FROM plan_assignments a
JOIN plan_population p ON p.unit_id = a.unit_id
ORDER BY p.district_code, p.draw_key DESC, p.unit_id
