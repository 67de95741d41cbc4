-- Connected-device downtime (scoring.md §2): per device and element, the total length of the
-- union of its intervals clipped to the 30 local days ending at the end of as_of (intervals
-- opened before the window count from its start; open ones run to its end).
-- Inputs: iot_intervals. Parameters: $iot_window_start_us, $iot_window_end_us (UTC
-- microseconds of the window's local midnights).
-- Function: union_length (pipeline/src/engine/functions/aggregate.rs): the length of the union
-- of a group's intervals [s, e), overlaps counted once.
WITH intervals AS (
    SELECT device_id, unit_id, element,
           GREATEST(start_us, $iot_window_start_us) AS s,
           LEAST(COALESCE(end_us, $iot_window_end_us), $iot_window_end_us) AS e
    FROM iot_intervals
    -- Intervals opened after the window are unknown on that day (a past day's window reads
    -- today's intervals).
    WHERE COALESCE(end_us, $iot_window_end_us) > $iot_window_start_us
      AND start_us < $iot_window_end_us
)
SELECT device_id, MIN(unit_id) AS unit_id, element,
       union_length(s, e) AS down_us,
       CAST(union_length(s, e) AS DOUBLE) / 3600000000.0 AS down_hours,
       MIN(s) AS first_start_us
FROM intervals
GROUP BY device_id, element
ORDER BY device_id, element
