-- The registry row of the unit being explained, as the run read it (the units table at the
-- version its manifest records). Inputs: units, explain_params (unit_id).
SELECT u.unit_id, u.name, u.district_code, u.grid_id
FROM units u
JOIN explain_params p ON p.unit_id = u.unit_id
