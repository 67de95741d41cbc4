-- Each grid of high_risk_areas with the extent of its open units that have coordinates (null
-- when none has): its cell in the GeoJSON for GIS tools and on the report's map, and the mean
-- position, where its label goes. Inputs: high_risk_areas, open_units.
WITH positions AS (
    SELECT grid_id, AVG(lon) AS lon, AVG(lat) AS lat,
           MIN(lon) AS lon_min, MAX(lon) AS lon_max, MIN(lat) AS lat_min, MAX(lat) AS lat_max
    FROM open_units
    WHERE lon IS NOT NULL AND lat IS NOT NULL
    GROUP BY grid_id
)
SELECT a.grid_id, a.district_code, a.open_units, a.area_index, a.level,
       array_to_string(a.drivers, ';') AS drivers,
       ROUND(p.lon, 6) AS lon, ROUND(p.lat, 6) AS lat,
       ROUND(p.lon_min, 6) AS lon_min, ROUND(p.lon_max, 6) AS lon_max,
       ROUND(p.lat_min, 6) AS lat_min, ROUND(p.lat_max, 6) AS lat_max
FROM high_risk_areas a
LEFT JOIN positions p ON p.grid_id = a.grid_id
ORDER BY a.grid_id
