-- Each grid of high_risk_areas at the mean position of its open units that have coordinates
-- (null when none has): the GeoJSON for GIS tools and the report's map.
-- Inputs: high_risk_areas, open_units.
WITH positions AS (
    SELECT grid_id, AVG(lon) AS lon, AVG(lat) AS lat
    FROM open_units
    WHERE lon IS NOT NULL AND lat IS NOT NULL
    GROUP BY grid_id
)
SELECT a.grid_id, a.district_code, a.open_units, a.area_index, a.level,
       array_to_string(a.drivers, ';') AS drivers,
       ROUND(p.lon, 6) AS lon, ROUND(p.lat, 6) AS lat
FROM high_risk_areas a
LEFT JOIN positions p ON p.grid_id = a.grid_id
ORDER BY a.grid_id
