-- Major fire hazard units (重大火灾隐患单位, scoring.md §2): an open unit with a direct element,
-- or with at least `threshold` distinct comprehensive elements: «major_hazard_crowded» for
-- crowded places and hazmat, «major_hazard_key» for key units, «major_hazard_other» otherwise
-- (the lowest that applies). `status` compares with the previous published run.
-- Inputs: hazard_elements, open_units, previous_major_hazard_units.
WITH unit_elements AS (
    -- One row per unit and element (an element has one kind): the counts below need no
    -- distinct aggregate, which DataFusion keeps per group.
    SELECT unit_id, element, kind, MIN(since) AS since
    FROM hazard_elements
    GROUP BY unit_id, element, kind
),
per_unit AS (
    SELECT unit_id,
           array_sort(array_agg(element)) AS elements,
           COUNT(CASE WHEN kind = 'comprehensive' THEN 1 END) AS comprehensive_count,
           MAX(CASE WHEN kind = 'direct' THEN 1 ELSE 0 END) = 1 AS has_direct,
           MIN(since) AS since
    FROM unit_elements
    GROUP BY unit_id
),
judged AS (
    SELECT u.unit_id, u.grid_id, u.district_code, pu.elements, pu.comprehensive_count,
           pu.has_direct, pu.since,
           CASE WHEN (u.crowded_place OR u.use_type = 'hazmat') AND u.key_unit
                     THEN LEAST($major_hazard_crowded, $major_hazard_key)
                WHEN u.crowded_place OR u.use_type = 'hazmat' THEN $major_hazard_crowded
                WHEN u.key_unit THEN $major_hazard_key
                ELSE $major_hazard_other END AS threshold
    FROM per_unit pu
    JOIN open_units u ON u.unit_id = pu.unit_id
)
SELECT j.unit_id, j.grid_id, j.district_code,
       CASE WHEN j.has_direct THEN 'direct' ELSE 'comprehensive' END AS basis,
       j.elements, j.comprehensive_count, j.threshold, j.since,
       CASE WHEN prev.unit_id IS NULL THEN 'new' ELSE 'continuing' END AS status
FROM judged j
LEFT JOIN previous_major_hazard_units prev ON prev.unit_id = j.unit_id
WHERE j.has_direct OR j.comprehensive_count >= j.threshold
ORDER BY j.unit_id
