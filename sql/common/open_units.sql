-- Units that are not closed (a null status counts as open, decisions.md 16): the population of
-- the lists, risk levels, high-risk areas and the inspection plan. Inputs: units.
SELECT * FROM units WHERE COALESCE(status, 'open') <> 'closed'
