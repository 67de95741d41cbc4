-- Hazard elements present at as_of (scoring.md §2), one row per unit, element and source:
-- unrectified, non-voided findings of the last «hazard_finding_days» days (credit repair does
-- not remove a hazard), and devices down or in low pressure for at least «iot_down_hours»
-- hours in the window (devices are never summed together). Inputs: violations, voided_events,
-- rule_violations, rule_hazard_elements, device_downtime. Parameters: $as_of, $as_of_day,
-- «hazard_finding_days», «iot_down_hours».
WITH from_findings AS (
    SELECT v.unit_id, r.hazard_element AS element, v.found_on AS since,
           v.violation_id AS source
    FROM violations v
    JOIN rule_violations r ON r.code = v.code
    LEFT JOIN voided_events x ON x.unit_id = v.unit_id AND x.ref_id = v.violation_id
    WHERE r.hazard_element IS NOT NULL
      AND CAST(v.found_on AS INT) > $as_of_day - $hazard_finding_days AND v.found_on <= $as_of
      AND x.ref_id IS NULL
      AND (v.rectified_on IS NULL OR v.rectified_on > $as_of)
),
from_devices AS (
    -- since = local date the device's first interval in the window began; an hour is
    -- 3,600,000,000 µs.
    SELECT unit_id, element, local_day(first_start_us) AS since, device_id AS source
    FROM device_downtime
    WHERE down_us >= $iot_down_hours * 3600000000
)
SELECT h.unit_id, h.element, k.kind, h.since, h.source
FROM (SELECT * FROM from_findings UNION ALL SELECT * FROM from_devices) h
JOIN rule_hazard_elements k ON k.element = h.element
ORDER BY h.unit_id, h.element, h.source
