-- Connected-device intervals (scoring.md §2), all history up to the end of as_of: one row per
-- opening event with the time of the next closing event of its state (NULL: still open).
-- States: offline→online, fault→restore, shield→unshield on auto_alarm devices (element CI1);
-- pressure_low→restore on sprinkler and hydrant devices (element CI2). A restore closes both
-- fault and pressure_low. Openings apply before closings at the same instant, so a closing at
-- the opening's instant gives a zero-length interval; a second opening nests inside the first
-- (the union removes it); a closing with nothing open closes nothing.
-- Inputs: iot_events. Parameter: $iot_window_end_us (events at or after it are unknown).
WITH transitions (event, state, closes) AS (
    VALUES ('offline', 'offline', 0), ('online', 'offline', 1),
           ('fault', 'fault', 0), ('restore', 'fault', 1),
           ('shield', 'shield', 0), ('unshield', 'shield', 1),
           ('pressure_low', 'pressure', 0), ('restore', 'pressure', 1)
),
ev AS (
    SELECT e.device_id, e.unit_id, t.state, t.closes,
           CASE WHEN t.state = 'pressure' THEN 'CI2' ELSE 'CI1' END AS element,
           CAST(e.ts AS BIGINT) AS ts_us
    FROM iot_events e
    JOIN transitions t ON t.event = e.event
    WHERE CAST(e.ts AS BIGINT) < $iot_window_end_us
      AND ((t.state <> 'pressure' AND e.system = 'auto_alarm')
           OR (t.state = 'pressure' AND e.system IN ('sprinkler', 'hydrant')))
),
opened AS (
    SELECT device_id, unit_id, element, closes, ts_us AS start_us,
           -- The next closing at or after this row, as a running minimum in reverse order
           -- (closings sort before openings of the same instant, so they follow them
           -- forwards); a running frame streams instead of buffering whole partitions.
           MIN(CASE WHEN closes = 1 THEN ts_us END) OVER (
               PARTITION BY device_id, state ORDER BY ts_us DESC, closes DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS end_us
    FROM ev
)
SELECT device_id, unit_id, element, start_us, end_us
FROM opened
WHERE closes = 0
ORDER BY device_id, element, start_us
