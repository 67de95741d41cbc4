-- The listed-supervision history of the unit being explained and of its grid (supervision.md
-- §6): its rows in the supervision tables of every committed run up to the one explained,
-- oldest run first. Inputs: hazard_supervision_history, area_supervision_history (each a
-- run's table with that run's `run_as_of`), explain_params (unit_id, grid_id).
SELECT h.run_as_of, 'unit' AS subject, h.unit_id AS id, h.status, h.listed_on, h.days_listed,
       h.deadline, h.overdue, h.lift_reason, h.elements AS detail
FROM hazard_supervision_history h
JOIN explain_params p ON p.unit_id = h.unit_id
UNION ALL
SELECT a.run_as_of, 'grid' AS subject, a.grid_id AS id, a.status, a.listed_on, a.days_listed,
       a.deadline, a.overdue, a.lift_reason, a.level AS detail
FROM area_supervision_history a
JOIN explain_params p ON p.grid_id = a.grid_id
ORDER BY run_as_of, subject DESC
