-- Connected-device downtime (scoring.md §2): per device and element, the total length of the
-- union of its intervals clipped to the 30 local days ending at the end of as_of (intervals
-- opened before the window count from its start; open ones run to its end).
-- Inputs: iot_intervals. Parameters: $iot_window_start_us, $iot_window_end_us (UTC
-- microseconds of the window's local midnights).
-- Function: union_gain (pipeline/src/engine/functions/window.rs): the length each interval
-- adds to the union of those that start before it.
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
gains AS (
    SELECT device_id, unit_id, element, s,
           union_gain(s, e) OVER (PARTITION BY device_id, element ORDER BY s, e) AS gain
    FROM intervals
)
SELECT device_id, MIN(unit_id) AS unit_id, element,
       SUM(gain) AS down_us,
       CAST(SUM(gain) AS DOUBLE) / 3600000000.0 AS down_hours,
       MIN(s) AS first_start_us
FROM gains
GROUP BY device_id, element
ORDER BY device_id, element
