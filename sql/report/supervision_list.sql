-- The report's lists of listed supervision (organisation data only): units and areas overdue
-- (longest listed first) and those lifted this run, with their reasons.
-- Inputs: hazard_supervision, area_supervision, units.
SELECT 'unit' AS subject, h.unit_id AS id, u.name, h.district_code, h.status,
       CAST(h.listed_on AS VARCHAR) AS listed_on, h.days_listed,
       CAST(h.deadline AS VARCHAR) AS deadline, h.overdue, h.lift_reason, h.elements AS detail
FROM hazard_supervision h
JOIN units u ON u.unit_id = h.unit_id
WHERE h.overdue OR h.status = 'lifted'
UNION ALL
SELECT 'area' AS subject, a.grid_id AS id, CAST(NULL AS VARCHAR) AS name, a.district_code,
       a.status, CAST(a.listed_on AS VARCHAR) AS listed_on, a.days_listed,
       CAST(a.deadline AS VARCHAR) AS deadline, a.overdue, a.lift_reason, a.level AS detail
FROM area_supervision a
WHERE a.overdue OR a.status = 'lifted'
ORDER BY subject DESC, overdue DESC, days_listed DESC, id
