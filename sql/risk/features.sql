-- Fire-risk features (scoring.md §3): one row per unit and cutoff, from what is known at the
-- cutoff only (events dated on or before it; a rectification after it counts as none yet; IoT
-- intervals clipped at the end of the cutoff day). Feature columns are named `f_*`; `label` is
-- a fire (any responsibility) in the 365 days after the cutoff, where those days are known.
-- Inputs: cutoffs (cutoff, cutoff_day, cutoff_end_us, labelled), cutoff_days (cutoff, day,
-- days_back: the local days of the 1095 days to each cutoff), units, open_units, inspections,
-- violations, complaints, incidents, iot_events, iot_intervals, rule_violations, unit_status
-- (credit points, grade and major-hazard flag computed by the credit and hazard SQL at each
-- cutoff).
-- The windows of the features (90, 365, 1095 days, in each feature's name) are the model's
-- design, not scoring rules, so they are not in parameters.csv; the 365-day label horizon is
-- the definition of risk_probability in scoring.md §3.
WITH grid_fires AS (
    SELECT c.cutoff, n.grid_id, COUNT(*) AS fires
    FROM cutoffs c
    JOIN (SELECT grid_id, CAST(local_day(occurred_at) AS INT) AS day
          FROM incidents WHERE kind = 'fire') n
      ON n.day <= c.cutoff_day AND n.day > c.cutoff_day - 1095
    GROUP BY c.cutoff, n.grid_id
),
grid_rates AS (
    -- Area context: the grid's fires of three years per 1000 open units, smoothed; for every
    -- grid of a unit (units and incidents always have one) at every cutoff.
    SELECT c.cutoff, c.cutoff_day, c.cutoff_end_us, c.labelled, g.grid_id,
           CAST(COALESCE(f.fires, 0) AS DOUBLE) / (COALESCE(o.units, 0) + 20) * 1000.0
               AS grid_fire_rate
    FROM cutoffs c
    CROSS JOIN (SELECT DISTINCT grid_id FROM units) g
    LEFT JOIN (SELECT grid_id, COUNT(*) AS units FROM open_units GROUP BY grid_id) o
      ON o.grid_id = g.grid_id
    LEFT JOIN grid_fires f ON f.grid_id = g.grid_id AND f.cutoff = c.cutoff
),
base AS (
    -- Every unit at every cutoff, made by joining the units to their grid's rates (a small
    -- table, one row per grid and cutoff) rather than crossing them with the cutoffs and
    -- joining the rates to the three times larger result.
    SELECT r.cutoff, r.cutoff_day, r.cutoff_end_us, r.labelled, r.grid_fire_rate,
           u.unit_id, u.grid_id, u.use_type, u.key_unit, u.crowded_place, u.has_sprinkler,
           u.has_auto_alarm, u.floor_area_m2, u.floors_above, u.build_year, u.capacity, u.open
    FROM grid_rates r
    JOIN (SELECT u.*, o.unit_id IS NOT NULL AS open
          FROM units u LEFT JOIN open_units o ON o.unit_id = u.unit_id) u
      ON u.grid_id = r.grid_id
),
viol AS (
    SELECT v.unit_id, c.cutoff,
           SUM(CASE WHEN CAST(v.found_on AS INT) > c.cutoff_day - 365 THEN 1 ELSE 0 END) AS violations_365,
           SUM(CASE WHEN CAST(v.found_on AS INT) > c.cutoff_day - 365 AND r.class = 'serious'
                    THEN 1 ELSE 0 END) AS serious_365,
           SUM(CASE WHEN CAST(v.found_on AS INT) > c.cutoff_day - 1095
                     AND (v.rectified_on IS NULL OR v.rectified_on > c.cutoff)
                    THEN 1 ELSE 0 END) AS unrectified,
           SUM(CASE WHEN v.rectify_due < c.cutoff
                     AND (v.rectified_on IS NULL OR v.rectified_on > v.rectify_due)
                    THEN 1 ELSE 0 END) AS overdue,
           COUNT(*) AS violations_all
    FROM cutoffs c
    JOIN violations v ON v.found_on <= c.cutoff
    JOIN rule_violations r ON r.code = v.code
    GROUP BY v.unit_id, c.cutoff
),
hazards AS (
    -- Distinct hazard elements of the findings of the last 365 days not rectified by the cutoff
    -- (a separate grouping: a distinct count beside the sums would be kept per group).
    SELECT unit_id, cutoff, COUNT(*) AS hazard_elements
    FROM (SELECT DISTINCT v.unit_id, c.cutoff, r.hazard_element
          FROM cutoffs c
          JOIN violations v ON v.found_on <= c.cutoff
          JOIN rule_violations r ON r.code = v.code
          WHERE CAST(v.found_on AS INT) > c.cutoff_day - 365
            AND (v.rectified_on IS NULL OR v.rectified_on > c.cutoff)
            AND r.hazard_element IS NOT NULL) d
    GROUP BY unit_id, cutoff
),
insp AS (
    SELECT i.unit_id, c.cutoff,
           SUM(CASE WHEN CAST(i.inspected_on AS INT) > c.cutoff_day - 90 THEN 1 ELSE 0 END) AS inspections_90,
           SUM(CASE WHEN CAST(i.inspected_on AS INT) > c.cutoff_day - 365 THEN 1 ELSE 0 END) AS inspections_365,
           SUM(CASE WHEN CAST(i.inspected_on AS INT) > c.cutoff_day - 1095 THEN 1 ELSE 0 END) AS inspections_1095,
           SUM(CASE WHEN CAST(i.inspected_on AS INT) > c.cutoff_day - 365 AND i.outcome = 'fail'
                    THEN 1 ELSE 0 END) AS failed_365,
           SUM(CASE WHEN CAST(i.inspected_on AS INT) > c.cutoff_day - 365 AND i.outcome = 'no_access'
                    THEN 1 ELSE 0 END) AS no_access_365
    FROM cutoffs c
    JOIN inspections i ON i.inspected_on <= c.cutoff
    GROUP BY i.unit_id, c.cutoff
),
compl AS (
    SELECT m.unit_id, c.cutoff,
           SUM(CASE WHEN m.day > c.cutoff_day - 365 THEN 1 ELSE 0 END) AS complaints_365,
           SUM(CASE WHEN m.day > c.cutoff_day - 365 AND m.verified THEN 1 ELSE 0 END) AS verified_365,
           MIN(c.cutoff_day - m.day) AS days_since_complaint
    FROM cutoffs c
    JOIN (SELECT unit_id, verified,
                 CAST(local_day(received_at) AS INT) AS day
          FROM complaints WHERE unit_id IS NOT NULL) m ON m.day <= c.cutoff_day
    GROUP BY m.unit_id, c.cutoff
),
inc AS (
    SELECT n.unit_id, c.cutoff,
           SUM(CASE WHEN n.kind = 'fire' THEN 1 ELSE 0 END) AS prior_fires,
           SUM(CASE WHEN n.kind = 'fire' AND n.day > c.cutoff_day - 365 THEN 1 ELSE 0 END) AS fires_365,
           SUM(CASE WHEN n.kind = 'false_alarm' AND n.day > c.cutoff_day - 365 THEN 1 ELSE 0 END) AS false_alarms_365
    FROM cutoffs c
    JOIN (SELECT unit_id, kind, CAST(local_day(occurred_at) AS INT) AS day
          FROM incidents WHERE unit_id IS NOT NULL) n ON n.day <= c.cutoff_day
    GROUP BY n.unit_id, c.cutoff
),
alarms AS (
    -- The alarms of the 365 local days to the end of the cutoff day.
    SELECT e.unit_id, d.cutoff, COUNT(*) AS alarms_365
    FROM cutoff_days d
    JOIN (SELECT unit_id, local_day(ts) AS day FROM iot_events WHERE event = 'alarm') e
      ON e.day = d.day
    WHERE d.days_back < 365
    GROUP BY e.unit_id, d.cutoff
),
downtime AS (
    -- Interval hours in the 365 days to the end of the cutoff day, per unit and element.
    SELECT d.unit_id, d.cutoff,
           SUM(CASE WHEN d.element = 'CI1' THEN d.us ELSE 0 END) / 3600000000.0 AS down_hours_365,
           SUM(CASE WHEN d.element = 'CI2' THEN d.us ELSE 0 END) / 3600000000.0 AS low_pressure_hours_365
    FROM (
        SELECT i.unit_id, i.element, c.cutoff,
               LEAST(COALESCE(i.end_us, c.cutoff_end_us), c.cutoff_end_us)
               - GREATEST(i.start_us, c.cutoff_end_us - 31536000000000) AS us
        FROM cutoffs c
        JOIN iot_intervals i
          ON i.start_us < c.cutoff_end_us
         AND COALESCE(i.end_us, c.cutoff_end_us) > c.cutoff_end_us - 31536000000000
    ) d
    GROUP BY d.unit_id, d.cutoff
),
labels AS (
    SELECT n.unit_id, c.cutoff, COUNT(*) AS fires_next_365
    FROM cutoffs c
    JOIN (SELECT unit_id, CAST(local_day(occurred_at) AS INT) AS day
          FROM incidents WHERE kind = 'fire' AND unit_id IS NOT NULL) n
      ON n.day > c.cutoff_day AND n.day <= c.cutoff_day + 365
    WHERE c.labelled
    GROUP BY n.unit_id, c.cutoff
)
SELECT b.unit_id, b.cutoff, b.grid_id,
       b.open,
       CASE WHEN b.labelled THEN COALESCE(l.fires_next_365, 0) > 0 END AS label,
       -- Static attributes, with indicators where a value is missing.
       CASE WHEN b.key_unit THEN 1.0 ELSE 0.0 END AS f_key_unit,
       CASE WHEN b.crowded_place THEN 1.0 ELSE 0.0 END AS f_crowded_place,
       CASE WHEN b.has_sprinkler THEN 1.0 ELSE 0.0 END AS f_has_sprinkler,
       CASE WHEN b.has_auto_alarm THEN 1.0 ELSE 0.0 END AS f_has_auto_alarm,
       LN(1.0 + COALESCE(b.floor_area_m2, 0.0)) AS f_ln_floor_area,
       CASE WHEN b.floor_area_m2 IS NULL THEN 1.0 ELSE 0.0 END AS f_floor_area_missing,
       CAST(COALESCE(b.floors_above, 0) AS DOUBLE) AS f_floors_above,
       CAST(COALESCE(date_part('year', b.cutoff) - b.build_year, 0) AS DOUBLE) AS f_building_age,
       CASE WHEN b.build_year IS NULL THEN 1.0 ELSE 0.0 END AS f_build_year_missing,
       LN(1.0 + COALESCE(b.capacity, 0)) AS f_ln_capacity,
       CASE WHEN b.use_type = 'retail' THEN 1.0 ELSE 0.0 END AS f_use_retail,
       CASE WHEN b.use_type = 'hotel' THEN 1.0 ELSE 0.0 END AS f_use_hotel,
       CASE WHEN b.use_type = 'restaurant' THEN 1.0 ELSE 0.0 END AS f_use_restaurant,
       CASE WHEN b.use_type = 'entertainment' THEN 1.0 ELSE 0.0 END AS f_use_entertainment,
       CASE WHEN b.use_type = 'hospital' THEN 1.0 ELSE 0.0 END AS f_use_hospital,
       CASE WHEN b.use_type = 'elderly_care' THEN 1.0 ELSE 0.0 END AS f_use_elderly_care,
       CASE WHEN b.use_type = 'school' THEN 1.0 ELSE 0.0 END AS f_use_school,
       CASE WHEN b.use_type = 'factory' THEN 1.0 ELSE 0.0 END AS f_use_factory,
       CASE WHEN b.use_type = 'warehouse' THEN 1.0 ELSE 0.0 END AS f_use_warehouse,
       CASE WHEN b.use_type = 'office' THEN 1.0 ELSE 0.0 END AS f_use_office,
       CASE WHEN b.use_type = 'residential_mixed' THEN 1.0 ELSE 0.0 END AS f_use_residential_mixed,
       CASE WHEN b.use_type = 'hazmat' THEN 1.0 ELSE 0.0 END AS f_use_hazmat,
       CASE WHEN b.use_type IS NULL THEN 1.0 ELSE 0.0 END AS f_use_missing,
       -- Inspection history.
       CAST(COALESCE(i.inspections_90, 0) AS DOUBLE) AS f_inspections_90,
       CAST(COALESCE(i.inspections_365, 0) AS DOUBLE) AS f_inspections_365,
       CAST(COALESCE(i.inspections_1095, 0) AS DOUBLE) AS f_inspections_1095,
       CAST(COALESCE(i.failed_365, 0) AS DOUBLE) AS f_failed_365,
       CAST(COALESCE(i.no_access_365, 0) AS DOUBLE) AS f_no_access_365,
       -- Findings.
       CAST(COALESCE(v.violations_365, 0) AS DOUBLE) AS f_violations_365,
       CAST(COALESCE(v.serious_365, 0) AS DOUBLE) AS f_serious_365,
       CAST(COALESCE(v.unrectified, 0) AS DOUBLE) AS f_unrectified,
       CAST(COALESCE(v.overdue, 0) AS DOUBLE) AS f_overdue,
       CAST(COALESCE(h.hazard_elements, 0) AS DOUBLE) AS f_hazard_elements,
       CAST(COALESCE(v.violations_all, 0) AS DOUBLE) AS f_violations_all,
       -- Complaints (days since the last one capped at three years; indicator when none).
       CAST(COALESCE(m.complaints_365, 0) AS DOUBLE) AS f_complaints_365,
       CAST(COALESCE(m.verified_365, 0) AS DOUBLE) AS f_verified_complaints_365,
       CAST(LEAST(COALESCE(m.days_since_complaint, 1095), 1095) AS DOUBLE) AS f_days_since_complaint,
       CASE WHEN m.days_since_complaint IS NULL THEN 1.0 ELSE 0.0 END AS f_no_complaint,
       -- Fires and alarms.
       CAST(COALESCE(n.prior_fires, 0) AS DOUBLE) AS f_prior_fires,
       CAST(COALESCE(n.fires_365, 0) AS DOUBLE) AS f_fires_365,
       CAST(COALESCE(n.false_alarms_365, 0) AS DOUBLE) AS f_false_alarms_365,
       CAST(COALESCE(a.alarms_365, 0) AS DOUBLE) AS f_alarms_365,
       -- Connected devices.
       COALESCE(d.down_hours_365, 0.0) AS f_down_hours_365,
       COALESCE(d.low_pressure_hours_365, 0.0) AS f_low_pressure_hours_365,
       -- Credit standing at the cutoff (grade A is the baseline).
       CAST(COALESCE(st.credit_points, 1000) AS DOUBLE) AS f_credit_points,
       CASE WHEN st.credit_grade = 'B' THEN 1.0 ELSE 0.0 END AS f_grade_b,
       CASE WHEN st.credit_grade = 'C' THEN 1.0 ELSE 0.0 END AS f_grade_c,
       CASE WHEN st.credit_grade = 'D' THEN 1.0 ELSE 0.0 END AS f_grade_d,
       CASE WHEN st.major_hazard THEN 1.0 ELSE 0.0 END AS f_major_hazard,
       -- Area context (grid_rates).
       b.grid_fire_rate AS f_grid_fire_rate
-- Each aggregate is the left input of its join, and the rows of `base` come through on the
-- right: DataFusion builds a join's hash table from its left input, and with `base` on the left
-- every join copied every column of the growing rows into a new table (decisions.md 120).
-- Read from the inside out: `base` left-joined to each aggregate in turn.
FROM
     labels l RIGHT JOIN (
     unit_status st RIGHT JOIN (
     downtime d RIGHT JOIN (
     alarms a RIGHT JOIN (
     inc n RIGHT JOIN (
     compl m RIGHT JOIN (
     insp i RIGHT JOIN (
     hazards h RIGHT JOIN (
     viol v RIGHT JOIN base b ON v.unit_id = b.unit_id AND v.cutoff = b.cutoff)
       ON h.unit_id = b.unit_id AND h.cutoff = b.cutoff)
       ON i.unit_id = b.unit_id AND i.cutoff = b.cutoff)
       ON m.unit_id = b.unit_id AND m.cutoff = b.cutoff)
       ON n.unit_id = b.unit_id AND n.cutoff = b.cutoff)
       ON a.unit_id = b.unit_id AND a.cutoff = b.cutoff)
       ON d.unit_id = b.unit_id AND d.cutoff = b.cutoff)
       ON st.unit_id = b.unit_id AND st.cutoff = b.cutoff)
       ON l.unit_id = b.unit_id AND l.cutoff = b.cutoff
ORDER BY b.cutoff, b.unit_id
