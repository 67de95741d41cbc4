-- Connected-device intervals carried forward (decision 130): the table iot_intervals.sql gives
-- at this run's window end, from the previous run's intervals and the events after its window
-- end instead of from all history. For a device whose events before the previous window end
-- are unchanged, an interval closed then stays as it was, an interval still open then ends at
-- the first closing of its state after it (all of them are after the previous window end), and
-- the intervals opened since need only the events since. A device with an event the previous
-- run did not see before its window end (a late event) is computed again from all its events.
-- Inputs: previous_iot_intervals (the previous run's iot_intervals), iot_events (every file),
-- iot_events_recent (the files of the local months from the previous window end on: a
-- partition filter), iot_late_devices (iot_late_devices.sql), iot_transitions.
-- Parameters: $iot_carry_end_us (the previous run's $iot_window_end_us), $iot_window_end_us.
-- Function: next_closing (pipeline/src/engine/functions/window.rs).
WITH states AS (
    SELECT DISTINCT state, element, opening FROM iot_transitions
),
carried AS (
    -- The late devices are the small side of every join with them, written first: the
    -- engine builds its hash table on them (decision 130).
    SELECT p.device_id, p.unit_id, s.element AS element_no, s.state, p.start_us, p.end_us
    FROM iot_late_devices l
    RIGHT ANTI JOIN previous_iot_intervals p ON p.device_id = l.device_id
    JOIN states s ON s.opening = p.opened_by
),
ev AS (
    -- The events since the previous window end of the devices carried,
    SELECT e.device_id, e.unit_id, t.state, t.element, t.closes, CAST(e.ts AS BIGINT) AS ts_us
    FROM iot_late_devices l
    RIGHT ANTI JOIN iot_events_recent e ON e.device_id = l.device_id
    JOIN iot_transitions t ON t.event = e.event AND t.system = e.system
    WHERE CAST(e.ts AS BIGINT) >= $iot_carry_end_us
      AND CAST(e.ts AS BIGINT) < $iot_window_end_us
    UNION ALL
    -- every event of the late devices,
    SELECT e.device_id, e.unit_id, t.state, t.element, t.closes, CAST(e.ts AS BIGINT) AS ts_us
    FROM iot_late_devices l
    JOIN iot_events e ON e.device_id = l.device_id
    JOIN iot_transitions t ON t.event = e.event AND t.system = e.system
    WHERE CAST(e.ts AS BIGINT) < $iot_window_end_us
    UNION ALL
    -- and the carried intervals still open, as their openings (all before the events since).
    SELECT device_id, unit_id, state, element_no, CAST(0 AS TINYINT), start_us
    FROM carried
    WHERE end_us IS NULL
),
opened AS (
    -- As in iot_intervals.sql, but for the unit breaking the last ties there: the same ends,
    -- and the union below is sorted at the end anyway.
    SELECT device_id, unit_id, element AS element_no, state, closes, ts_us AS start_us,
           next_closing(ts_us, closes, state) OVER (
               PARTITION BY device_id, element ORDER BY ts_us, closes, state) AS end_us
    FROM ev
),
intervals AS (
    SELECT device_id, unit_id, element_no, state, start_us, end_us FROM opened WHERE closes = 0
    UNION ALL
    SELECT device_id, unit_id, element_no, state, start_us, end_us FROM carried
    WHERE end_us IS NOT NULL
)
SELECT i.device_id, i.unit_id, CASE i.element_no WHEN 1 THEN 'CI1' ELSE 'CI2' END AS element,
       s.opening AS opened_by, i.start_us, i.end_us
FROM intervals i
JOIN states s ON s.state = i.state
ORDER BY i.device_id, i.element_no, i.start_us, i.state, i.unit_id
