-- Hazard elements present at as_of (scoring.md §2), one row per unit, element and source:
-- unrectified, non-voided findings of the last 365 days (credit repair does not remove a
-- hazard), and devices down or in low pressure for at least 72 hours in the window (devices are
-- never summed together). Inputs: violations, voided_events, rule_violations,
-- rule_hazard_elements, device_downtime. Parameters: $as_of, $as_of_day.
WITH from_findings AS (
    SELECT v.unit_id, r.hazard_element AS element, v.found_on AS since,
           v.violation_id AS source
    FROM violations v
    JOIN rule_violations r ON r.code = v.code
    LEFT JOIN voided_events x ON x.unit_id = v.unit_id AND x.ref_id = v.violation_id
    WHERE r.hazard_element IS NOT NULL
      AND CAST(v.found_on AS INT) > $as_of_day - 365 AND v.found_on <= $as_of
      AND x.ref_id IS NULL
      AND (v.rectified_on IS NULL OR v.rectified_on > $as_of)
),
from_devices AS (
    -- 72 hours = 259,200,000,000 µs; since = local date the device's first interval began.
    SELECT unit_id, element,
           CAST(CAST((first_start_us + 28800000000) / 86400000000 AS INT) AS DATE) AS since,
           device_id AS source
    FROM device_downtime
    WHERE down_us >= 259200000000
)
SELECT h.unit_id, h.element, k.kind, h.since, h.source
FROM (SELECT * FROM from_findings UNION ALL SELECT * FROM from_devices) h
JOIN rule_hazard_elements k ON k.element = h.element
ORDER BY h.unit_id, h.element, h.source
