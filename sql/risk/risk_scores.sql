-- Risk scores (scoring.md §3): the calibrated probability of a fire in the 365 days after
-- as_of, computed by the fitted model compiled to SQL, and each unit's three largest positive
-- feature contributions as reasons (logistic: log-odds against the average training unit;
-- forest: change in fire rate along the unit's paths; boosted trees: change in log-odds along the
-- unit's paths).
-- Inputs: features. Parameter: $as_of. The marked expressions are generated from the model
-- artifact (model.json) by firecredit; they are its numbers, not user input. A tree model walks
-- each tree once per row (`walked`: the leaf reached, `leaf_<i>`); its probability and
-- contributions look the leaves' numbers up.
-- The reasons are ranked inside each row: every positive contribution becomes a key whose
-- first 16 characters sort by the contribution (to 1e-9, largest first) and then by the
-- feature's name; the row's keys are sorted and the first three kept. No operator holds more
-- than a batch, so this streams at any scale.
WITH walked AS (
    SELECT * /*LEAVES*/
    FROM features
    WHERE cutoff = $as_of
),
scored AS (
    SELECT unit_id, open, /*PROBABILITY*/ AS risk_probability,
           /*CONTRIBUTIONS*/
    FROM walked
),
ranked AS (
    SELECT unit_id, open, risk_probability,
           array_sort(make_array(/*KEYS*/), 'ASC', 'NULLS LAST') AS keys
    FROM scored
),
top AS (
    SELECT unit_id, open, risk_probability,
           arrow_cast(substr(array_element(keys, 1), 17), 'Utf8') AS r1,
           arrow_cast(substr(array_element(keys, 2), 17), 'Utf8') AS r2,
           arrow_cast(substr(array_element(keys, 3), 17), 'Utf8') AS r3
    FROM ranked
)
SELECT unit_id, open, risk_probability,
       CASE WHEN r1 IS NULL THEN arrow_cast(make_array(), 'List(Utf8)')
            WHEN r2 IS NULL THEN make_array(r1)
            WHEN r3 IS NULL THEN make_array(r1, r2)
            ELSE make_array(r1, r2, r3) END AS risk_reasons
FROM top
ORDER BY unit_id
