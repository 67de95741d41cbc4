-- Connected-device intervals (scoring.md §2), all history up to the end of as_of: one row per
-- opening event with the time of the next closing event of its state (NULL: still open).
-- States: offline→online, fault→restore, shield→unshield on auto_alarm devices (element CI1);
-- pressure_low→restore on sprinkler and hydrant devices (element CI2). A restore closes both
-- fault and pressure_low. Openings apply before closings at the same instant, so a closing at
-- the opening's instant gives a zero-length interval; a second opening nests inside the first
-- (the union removes it); a closing with nothing open closes nothing.
-- Inputs: iot_events. Parameter: $iot_window_end_us (events at or after it are unknown).
-- Function: next_closing (pipeline/src/engine/functions/window.rs).
-- States and elements are numbered (offline 1, fault 2, shield 3, pressure 4; CI1 1, CI2 2):
-- every event is sorted by them, and small numbers sort faster than names (decision 119).
WITH transitions (event, system, state, element, closes) AS (
    VALUES ('offline', 'auto_alarm', 1, 1, 0), ('online', 'auto_alarm', 1, 1, 1),
           ('fault', 'auto_alarm', 2, 1, 0), ('restore', 'auto_alarm', 2, 1, 1),
           ('shield', 'auto_alarm', 3, 1, 0), ('unshield', 'auto_alarm', 3, 1, 1),
           ('pressure_low', 'sprinkler', 4, 2, 0), ('restore', 'sprinkler', 4, 2, 1),
           ('pressure_low', 'hydrant', 4, 2, 0), ('restore', 'hydrant', 4, 2, 1)
),
ev AS (
    SELECT e.device_id, e.unit_id, CAST(t.state AS TINYINT) AS state,
           CAST(t.element AS TINYINT) AS element, CAST(t.closes AS TINYINT) AS closes,
           CAST(e.ts AS BIGINT) AS ts_us
    FROM iot_events e
    JOIN transitions t ON t.event = e.event AND t.system = e.system
    WHERE CAST(e.ts AS BIGINT) < $iot_window_end_us
),
opened AS (
    SELECT device_id, unit_id, element AS element_no, closes, ts_us AS start_us,
           -- The first closing of the row's state at or after it. Closings sort after openings
           -- of the same instant, so they close them (zero length); the state breaks the last
           -- ties, so the output's order is total.
           next_closing(ts_us, closes, state) OVER (
               PARTITION BY device_id, element ORDER BY ts_us, closes, state) AS end_us
    FROM ev
)
SELECT device_id, unit_id, CASE element_no WHEN 1 THEN 'CI1' ELSE 'CI2' END AS element,
       start_us, end_us
FROM opened
WHERE closes = 0
ORDER BY device_id, element_no, start_us
