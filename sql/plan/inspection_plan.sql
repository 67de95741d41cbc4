-- Inspection plan, step 5: the published plan, one row per drawn unit. Public: unit ids,
-- district, stratum, the draw's numbers and inspector ids only (no names, no phone numbers).
-- Inputs: plan_population, plan_assignments. Parameter: $plan_seed.
SELECT p.unit_id, p.district_code, p.stratum, p.weight, p.u, p.draw_key,
       a.status, a.reason, a.inspector_1, a.inspector_2,
       CAST($plan_seed AS VARCHAR) AS seed
FROM plan_assignments a
JOIN plan_population p ON p.unit_id = a.unit_id
ORDER BY p.district_code, p.draw_key DESC, p.unit_id
