-- Connected-device downtime (scoring.md §2): per device and element, the total length of the
-- union of its intervals clipped to the 30 local days ending at the end of as_of (intervals
-- opened before the window count from its start; open ones run to its end).
-- Inputs: iot_intervals. Parameters: $iot_window_start_us, $iot_window_end_us (UTC
-- microseconds of the window's local midnights).
WITH intervals AS (
    SELECT device_id, unit_id, element,
           GREATEST(start_us, $iot_window_start_us) AS s,
           LEAST(COALESCE(end_us, $iot_window_end_us), $iot_window_end_us) AS e
    FROM iot_intervals
    -- Intervals opened after the window are unknown on that day (a past day's window reads
    -- today's intervals).
    WHERE COALESCE(end_us, $iot_window_end_us) > $iot_window_start_us
      AND start_us < $iot_window_end_us
),
ordered AS (
    SELECT *,
           MAX(e) OVER (PARTITION BY device_id, element ORDER BY s, e
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM intervals
),
islands AS (
    SELECT *,
           SUM(CASE WHEN prev_end IS NULL OR s > prev_end THEN 1 ELSE 0 END) OVER (
               PARTITION BY device_id, element ORDER BY s, e
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
    FROM ordered
),
merged AS (
    SELECT device_id, element, island, MIN(unit_id) AS unit_id, MIN(s) AS s, MAX(e) AS e
    FROM islands
    GROUP BY device_id, element, island
)
SELECT device_id, MIN(unit_id) AS unit_id, element,
       SUM(e - s) AS down_us,
       CAST(SUM(e - s) AS DOUBLE) / 3600000000.0 AS down_hours,
       MIN(s) AS first_start_us
FROM merged
GROUP BY device_id, element
ORDER BY device_id, element
