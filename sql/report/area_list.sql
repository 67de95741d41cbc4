-- The high fire-risk area list (levels I and II) for the report's table.
-- Inputs: high_risk_areas.
SELECT grid_id, district_code, open_units, area_index, level, array_to_string(drivers, ';') AS drivers
FROM high_risk_areas
WHERE level IN ('I', 'II')
ORDER BY area_index DESC, grid_id
