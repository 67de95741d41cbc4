-- Alerts per district and kind (supervision.md §7): every pair with at least one alert. The
-- only part of enforcement supervision that may be shown outside (the report).
-- Inputs: enforcement_alerts.
SELECT district_code, kind, COUNT(*) AS alerts
FROM enforcement_alerts
GROUP BY district_code, kind
ORDER BY district_code, kind
