-- The major fire hazard units for the report's table (organisation data only).
-- Inputs: major_hazard_units, units.
SELECT m.unit_id, u.name, m.district_code, m.grid_id, m.basis,
       array_to_string(m.elements, ';') AS elements, CAST(m.since AS VARCHAR) AS since, m.status
FROM major_hazard_units m
JOIN units u ON u.unit_id = m.unit_id
ORDER BY m.district_code, m.unit_id
