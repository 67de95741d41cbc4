-- 守信激励: open units graded A. Inputs: unit_scores, units.
SELECT s.unit_id, u.uscc, u.name, u.grid_id, s.credit_points, s.credit_grade, s.veto_reason
FROM unit_scores s JOIN units u ON u.unit_id = s.unit_id
WHERE s.credit_grade = 'A' AND COALESCE(u.status, 'open') <> 'closed'
ORDER BY s.unit_id
