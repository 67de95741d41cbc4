-- Listed supervision of high fire-risk areas (挂牌督办, supervision.md §6): every grid on today's
-- high-risk list (levels I and II), and every grid the previous run listed (`new` or
-- `continuing`) that is not on it today (`lifted`: `no_open_units` when the grid has no open
-- unit today, else `level_lowered`). `level` is today's level, null for a grid with no open
-- unit. A lifted grid keeps the district of its last listing when it has no open unit today.
-- Inputs: high_risk_areas, previous_area_supervision.
-- Parameters: $as_of, $as_of_day, «area_deadline_days».
WITH previous AS (
    SELECT grid_id, district_code, listed_on
    FROM previous_area_supervision
    WHERE status IN ('new', 'continuing')
),
today AS (
    SELECT a.grid_id, a.district_code, a.level,
           CASE WHEN p.grid_id IS NULL THEN 'new' ELSE 'continuing' END AS status,
           COALESCE(p.listed_on, CAST($as_of AS DATE)) AS listed_on,
           CAST(NULL AS VARCHAR) AS lift_reason
    FROM high_risk_areas a
    LEFT JOIN previous p ON p.grid_id = a.grid_id
    WHERE a.level IN ('I', 'II')
),
lifted AS (
    SELECT p.grid_id, COALESCE(a.district_code, p.district_code) AS district_code, a.level,
           'lifted' AS status, p.listed_on,
           CASE WHEN a.grid_id IS NULL THEN 'no_open_units' ELSE 'level_lowered' END AS lift_reason
    FROM previous p
    LEFT JOIN high_risk_areas a ON a.grid_id = p.grid_id
    WHERE a.grid_id IS NULL OR a.level NOT IN ('I', 'II')
),
listing AS (
    SELECT * FROM today
    UNION ALL
    SELECT * FROM lifted
)
SELECT grid_id, district_code, level, status, listed_on,
       CAST($as_of_day - CAST(listed_on AS INT) AS BIGINT) AS days_listed,
       CAST(CAST(listed_on AS INT) + $area_deadline_days AS DATE) AS deadline,
       status <> 'lifted'
           AND $as_of_day > CAST(listed_on AS INT) + $area_deadline_days AS overdue,
       lift_reason
FROM listing
ORDER BY grid_id
