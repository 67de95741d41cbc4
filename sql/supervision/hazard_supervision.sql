-- Listed supervision of major fire hazard units (挂牌督办, supervision.md §6): every unit that is
-- a major hazard unit today, and every unit the previous run listed (`new` or `continuing`)
-- that is not one today (`lifted`, with its reason). A listing keeps the day it began while it
-- lasts; a unit lifted and listed again starts anew. The previous run is the committed run with
-- the latest as_of before this one (none: an empty table).
-- Inputs: major_hazard_units, hazard_elements, units, previous_hazard_supervision.
-- Parameters: $as_of, $as_of_day, «hazard_deadline_days».
WITH previous AS (
    SELECT unit_id, listed_on
    FROM previous_hazard_supervision
    WHERE status IN ('new', 'continuing')
),
elements AS (
    SELECT unit_id, array_to_string(array_sort(array_agg(DISTINCT element)), ';') AS elements
    FROM hazard_elements
    GROUP BY unit_id
),
today AS (
    SELECT m.unit_id,
           CASE WHEN p.unit_id IS NULL THEN 'new' ELSE 'continuing' END AS status,
           COALESCE(p.listed_on, CAST($as_of AS DATE)) AS listed_on,
           CAST(NULL AS VARCHAR) AS lift_reason
    FROM major_hazard_units m
    LEFT JOIN previous p ON p.unit_id = m.unit_id
),
lifted AS (
    SELECT p.unit_id, 'lifted' AS status, p.listed_on,
           CASE WHEN u.status = 'closed' THEN 'closed'
                WHEN e.unit_id IS NULL THEN 'cleared'
                ELSE 'below_threshold' END AS lift_reason
    FROM previous p
    LEFT JOIN major_hazard_units m ON m.unit_id = p.unit_id
    LEFT JOIN units u ON u.unit_id = p.unit_id
    LEFT JOIN elements e ON e.unit_id = p.unit_id
    WHERE m.unit_id IS NULL
),
listing AS (
    SELECT * FROM today
    UNION ALL
    SELECT * FROM lifted
)
SELECT l.unit_id, u.district_code, u.grid_id, l.status, l.listed_on,
       CAST($as_of_day - CAST(l.listed_on AS INT) AS BIGINT) AS days_listed,
       CAST(CAST(l.listed_on AS INT) + $hazard_deadline_days AS DATE) AS deadline,
       l.status <> 'lifted'
           AND $as_of_day > CAST(l.listed_on AS INT) + $hazard_deadline_days AS overdue,
       l.lift_reason,
       CASE WHEN l.lift_reason IN ('cleared', 'closed') THEN ''
            ELSE COALESCE(e.elements, '') END AS elements
FROM listing l
LEFT JOIN units u ON u.unit_id = l.unit_id
LEFT JOIN elements e ON e.unit_id = l.unit_id
ORDER BY l.unit_id
