-- One unit's ledger with the names of its codes, for `firecredit explain` (objections, 异议).
-- Inputs: credit_ledger (of a published run), rule_violations, rule_bonuses, explain_params.
SELECT l.event_id, l.ref_id, l.code, l.kind, l.class, l.event_date, l.window_end,
       l.base_points, l.repeated, l.repeat_of, l.timely, l.points, l.status,
       l.void_action, l.repair_action, l.repaired_on,
       COALESCE(v.name_zh, b.name_zh) AS name_zh,
       COALESCE(v.name_en, b.name_en) AS name_en
FROM credit_ledger l
JOIN explain_params p ON p.unit_id = l.unit_id
LEFT JOIN rule_violations v ON v.code = l.code
LEFT JOIN rule_bonuses b ON b.code = l.code
ORDER BY l.event_date, l.event_id
