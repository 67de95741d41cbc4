-- Devices with an event that the previous run did not see before its window end (a late
-- event, decision 130): iot_intervals_carried.sql computes their intervals again from all
-- their events. The run holds the result in memory, so that the engine knows how few rows it
-- has and filters the scan of every event by them.
-- Inputs: iot_events_added (the IoT files added since the previous run's pinned version).
-- Parameter: $iot_carry_end_us (the previous run's $iot_window_end_us).
SELECT DISTINCT device_id
FROM iot_events_added
WHERE CAST(ts AS BIGINT) < $iot_carry_end_us
ORDER BY device_id
