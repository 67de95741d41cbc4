-- Timeliness of objection and repair cases by district for the report (supervision.md §8):
-- decided within their limit, decided late, pending within their limit, pending past it.
-- Inputs: credit_cases, units.
SELECT u.district_code,
       SUM(CASE WHEN c.decided_on IS NOT NULL AND NOT c.breach THEN 1 ELSE 0 END) AS decided_in_time,
       SUM(CASE WHEN c.decided_on IS NOT NULL AND c.breach THEN 1 ELSE 0 END) AS decided_late,
       SUM(CASE WHEN c.decided_on IS NULL AND NOT c.breach THEN 1 ELSE 0 END) AS pending,
       SUM(CASE WHEN c.decided_on IS NULL AND c.breach THEN 1 ELSE 0 END) AS pending_overdue
FROM credit_cases c
JOIN units u ON u.unit_id = c.unit_id
GROUP BY u.district_code
ORDER BY u.district_code
