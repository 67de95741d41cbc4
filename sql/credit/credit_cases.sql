-- Objections and repairs as cases (异议、信用修复受理, supervision.md §8): one row per filing
-- (`objection_filed`, `repair_requested`) known at as_of that is pending or was decided in the
-- last 365 days (a structural window, decisions.md 88). A filing is decided by the earliest
-- decision of its family for the same unit and ref_id dated from the filing day to as_of (ties:
-- the smaller action_id); a decision before the filing decides nothing, and one decision may
-- decide several filings. Decisions keep their §1 effect whether or not a filing exists.
-- Inputs: credit_actions. Parameters: $as_of, $as_of_day, «objection_days», «repair_days».
WITH filings AS (
    SELECT action_id AS case_id, unit_id, ref_id,
           CASE WHEN kind = 'objection_filed' THEN 'objection' ELSE 'repair' END AS family,
           effective_on AS filed_on
    FROM credit_actions
    WHERE kind IN ('objection_filed', 'repair_requested') AND effective_on <= $as_of
),
decisions AS (
    SELECT action_id, unit_id, ref_id, effective_on,
           CASE WHEN kind IN ('objection_upheld', 'objection_rejected') THEN 'objection'
                ELSE 'repair' END AS family,
           -- 1 upheld, 2 granted, 3 rejected: named again in `cases`.
           CASE kind WHEN 'objection_upheld' THEN 1
                     WHEN 'repair' THEN 2
                     ELSE 3 END AS decision
    FROM credit_actions
    WHERE kind IN ('objection_upheld', 'objection_rejected', 'repair', 'repair_rejected')
      AND effective_on <= $as_of
),
matched AS (
    -- The earliest decision of each decided filing, as one aggregate (decisions.md 137): a
    -- ROW_NUMBER over ~66 K partitions of one or two rows cost the engine 0.28 s at GD-1M. The
    -- decision is a number here: the ordered first_value of a text took three times as long.
    SELECT f.case_id, min(d.effective_on) AS decided_on,
           first_value(d.decision ORDER BY d.effective_on, d.action_id) AS decision
    FROM filings f
    JOIN decisions d ON d.unit_id = f.unit_id AND d.ref_id = f.ref_id
                    AND d.family = f.family AND d.effective_on >= f.filed_on
    GROUP BY f.case_id
),
cases AS (
    SELECT f.case_id, f.unit_id, f.ref_id, f.family, f.filed_on, m.decided_on,
           CASE m.decision WHEN 1 THEN 'upheld' WHEN 2 THEN 'granted' WHEN 3 THEN 'rejected'
           END AS decision,
           CAST(COALESCE(m.decided_on, $as_of) AS INT) - CAST(f.filed_on AS INT) AS days_open,
           CASE f.family WHEN 'objection' THEN $objection_days ELSE $repair_days END AS limit_days
    FROM filings f
    LEFT JOIN matched m ON m.case_id = f.case_id
)
SELECT case_id, unit_id, ref_id, family, filed_on, decided_on, decision,
       CAST(days_open AS BIGINT) AS days_open, CAST(limit_days AS BIGINT) AS limit_days,
       days_open > limit_days AS breach
FROM cases
WHERE decided_on IS NULL OR CAST(decided_on AS INT) > $as_of_day - 365
ORDER BY case_id
