-- Credit-platform feed `scores`, schema `firecredit-scores/1` (docs/feed.md): one row per unit
-- of the registry, published as Parquet, CSV and NDJSON. Organisation data only: no person's
-- name, phone number or complaint text. Inputs: unit_scores, units.
SELECT 'firecredit-scores/1' AS schema_version,
       s.unit_id, u.uscc, u.name, u.district_code, u.grid_id,
       COALESCE(u.status, 'open') AS status,
       s.as_of, s.credit_points, s.credit_grade, s.veto_reason, s.reasons,
       s.risk_probability, s.risk_level, s.major_hazard, s.risk_reasons,
       s.rules_version, s.model_version,
       -- Added to firecredit-scores/1 (a compatible addition, supervision.md §8).
       s.under_objection, s.earliest_repairable_on
FROM unit_scores s
JOIN units u ON u.unit_id = s.unit_id
ORDER BY s.unit_id
