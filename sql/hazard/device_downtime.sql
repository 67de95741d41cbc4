-- Connected-device downtime (scoring.md §2): per device, the union of its down intervals
-- (offline→online, fault→restore, shield→unshield; auto_alarm devices, element CI1) and of its
-- low-pressure intervals (pressure_low→restore; sprinkler and hydrant devices, element CI2),
-- clipped to the 30 local days ending at the end of as_of.
-- Inputs: iot_events. Parameters: $iot_window_start_us, $iot_window_end_us (UTC microseconds
-- of the window's local midnights).
-- An interval opens at an opening event and ends at the next closing event of its state at or
-- after it (openings apply first at the same instant); a second opening nests inside the first
-- and disappears in the union; a closing with nothing open closes nothing. Events at or after
-- the window's end are unknown; earlier events still open intervals.
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
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS close_us
    FROM ev
),
intervals AS (
    SELECT o.device_id, o.unit_id, o.element,
           GREATEST(o.start_us, $iot_window_start_us) AS s,
           LEAST(COALESCE(o.close_us, $iot_window_end_us), $iot_window_end_us) AS e
    FROM opened o
    WHERE o.closes = 0 AND COALESCE(o.close_us, $iot_window_end_us) > $iot_window_start_us
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
