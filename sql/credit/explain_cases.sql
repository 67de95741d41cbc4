-- The objection and repair cases of the unit being explained (supervision.md §8), oldest
-- filing first. Inputs: credit_cases (a committed run's), explain_params (unit_id).
SELECT c.case_id, c.family, c.ref_id, c.filed_on, c.decided_on, c.decision, c.days_open,
       c.limit_days, c.breach
FROM credit_cases c
JOIN explain_params p ON p.unit_id = c.unit_id
ORDER BY c.filed_on, c.case_id
