-- Events voided by an upheld objection known at as_of (scoring.md §1): void from the start, for
-- credit (with their X01) and for hazards alike. Inputs: credit_actions. Parameter: $as_of.
SELECT a.unit_id, a.ref_id, MIN(a.action_id) AS void_action
FROM credit_actions a
WHERE a.kind = 'objection_upheld' AND a.effective_on <= $as_of
GROUP BY a.unit_id, a.ref_id
