-- Open units per district by credit grade, risk level and major-hazard flag: the risk-zone
-- report's charts, and its trend across runs, read this small table. Inputs: unit_scores,
-- open_units.
SELECT u.district_code, s.credit_grade, s.risk_level,
       COUNT(*) AS units,
       SUM(CASE WHEN s.major_hazard THEN 1 ELSE 0 END) AS major_hazard_units
FROM unit_scores s
JOIN open_units u ON u.unit_id = s.unit_id
GROUP BY u.district_code, s.credit_grade, s.risk_level
ORDER BY u.district_code, s.credit_grade, s.risk_level
