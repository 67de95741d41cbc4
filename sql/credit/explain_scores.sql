-- The published score row of the unit being explained (for `firecredit explain`).
-- Inputs: unit_scores (a committed run's), explain_params (unit_id).
SELECT s.*
FROM unit_scores s
JOIN explain_params p ON p.unit_id = s.unit_id
