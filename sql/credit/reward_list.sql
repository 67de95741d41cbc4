-- 守信激励: open units graded A. Inputs: unit_scores, open_units.
SELECT s.unit_id, u.uscc, u.name, u.grid_id, s.credit_points, s.credit_grade, s.veto_reason
FROM unit_scores s JOIN open_units u ON u.unit_id = s.unit_id
WHERE s.credit_grade = 'A'
ORDER BY s.unit_id
