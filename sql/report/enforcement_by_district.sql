-- Enforcement-supervision alerts per district and kind for the report (supervision.md §7):
-- counts only, never the officers. Inputs: enforcement_summary.
SELECT district_code,
       SUM(CASE WHEN kind = 'unknown_inspector' THEN alerts ELSE 0 END) AS unknown_inspector,
       SUM(CASE WHEN kind = 'out_of_jurisdiction' THEN alerts ELSE 0 END) AS out_of_jurisdiction,
       SUM(CASE WHEN kind = 'penalty_too_light' THEN alerts ELSE 0 END) AS penalty_too_light,
       SUM(CASE WHEN kind = 'penalty_too_heavy' THEN alerts ELSE 0 END) AS penalty_too_heavy,
       SUM(CASE WHEN kind = 'followup_overdue' THEN alerts ELSE 0 END) AS followup_overdue,
       SUM(CASE WHEN kind = 'rotation_breach' THEN alerts ELSE 0 END) AS rotation_breach,
       SUM(CASE WHEN kind = 'complaint_unchecked' THEN alerts ELSE 0 END) AS complaint_unchecked
FROM enforcement_summary
GROUP BY district_code
ORDER BY district_code
