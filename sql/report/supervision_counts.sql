-- Listed supervision at a glance for the report (supervision.md §6): per district, the units
-- and areas listed this run (new, continuing), lifted this run, and overdue.
-- Inputs: hazard_supervision, area_supervision.
WITH listings AS (
    SELECT 'unit' AS subject, district_code, status, overdue FROM hazard_supervision
    UNION ALL
    SELECT 'area' AS subject, district_code, status, overdue FROM area_supervision
)
SELECT subject, district_code,
       SUM(CASE WHEN status = 'new' THEN 1 ELSE 0 END) AS new,
       SUM(CASE WHEN status = 'continuing' THEN 1 ELSE 0 END) AS continuing,
       SUM(CASE WHEN status = 'lifted' THEN 1 ELSE 0 END) AS lifted,
       SUM(CASE WHEN overdue THEN 1 ELSE 0 END) AS overdue
FROM listings
GROUP BY subject, district_code
ORDER BY subject DESC, district_code
