-- Connected-device intervals (scoring.md §2), all history up to the end of as_of: one row per
-- opening event with the time of the next closing event of its state (NULL: still open).
-- Openings apply before closings at the same instant, so a closing at the opening's instant
-- gives a zero-length interval; a second opening nests inside the first (the union removes
-- it); a closing with nothing open closes nothing. `opened_by` names the opening event.
-- Rows are in (device, element, start, state, unit) order: total, so that a run that carries
-- the previous run's intervals (iot_intervals_carried.sql) writes the same bytes.
-- Inputs: iot_events, iot_transitions. Parameter: $iot_window_end_us (events at or after it
-- are unknown). Function: next_closing (pipeline/src/engine/functions/window.rs).
WITH ev AS (
    SELECT e.device_id, e.unit_id, t.state, t.element, t.closes, CAST(e.ts AS BIGINT) AS ts_us
    FROM iot_events e
    JOIN iot_transitions t ON t.event = e.event AND t.system = e.system
    WHERE CAST(e.ts AS BIGINT) < $iot_window_end_us
),
opened AS (
    SELECT device_id, unit_id, element AS element_no, state, closes, ts_us AS start_us,
           -- The first closing of the row's state at or after it. Closings sort after openings
           -- of the same instant, so they close them (zero length); the state and the unit
           -- break the last ties, so the window's order is the output's, total, and the rows
           -- need no sort after it (decision 136).
           next_closing(ts_us, closes, state) OVER (
               PARTITION BY device_id, element ORDER BY ts_us, closes, state, unit_id) AS end_us
    FROM ev
)
SELECT o.device_id, o.unit_id, CASE o.element_no WHEN 1 THEN 'CI1' ELSE 'CI2' END AS element,
       s.opening AS opened_by, o.start_us, o.end_us
-- The four states first: the engine builds its hash table on them and streams the intervals
-- through in their order (the other way round it collected every interval into one table).
FROM (SELECT DISTINCT state, opening FROM iot_transitions) s
JOIN opened o ON s.state = o.state
WHERE o.closes = 0
ORDER BY o.device_id, o.element_no, o.start_us, o.state, o.unit_id
