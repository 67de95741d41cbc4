-- Risk scores (scoring.md §3): the calibrated probability of a fire in the 365 days after
-- as_of, computed by the fitted model compiled to SQL, and each unit's three largest positive
-- feature contributions as reasons (logistic: log-odds against the average training unit;
-- forest: change in fire rate along the unit's paths).
-- Inputs: features. Parameter: $as_of. The marked expressions are generated from the model
-- artifact (model.json) by firecredit; they are its numbers, not user input. The contributions
-- travel as one array, paired with the feature names by unnest (one UNION ALL branch per
-- feature would copy the compiled model into every branch).
WITH scored AS (
    SELECT unit_id, open, /*PROBABILITY*/ AS risk_probability,
           make_array(/*CONTRIBUTIONS*/) AS contributions
    FROM features
    WHERE cutoff = $as_of
),
exploded AS (
    SELECT unit_id,
           unnest(make_array(/*FEATURES*/)) AS feature,
           unnest(contributions) AS contribution
    FROM scored
),
ranked AS (
    SELECT unit_id, feature, contribution,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY contribution DESC, feature) AS rn
    FROM exploded
    WHERE contribution > 0
),
reasons AS (
    SELECT unit_id,
           array_agg(feature || ':' || CAST(ROUND(contribution, 3) AS VARCHAR) ORDER BY rn) AS risk_reasons
    FROM ranked WHERE rn <= 3
    GROUP BY unit_id
)
-- `scored` is read twice, for different columns: each copy computes only what it is read for.
SELECT s.unit_id, s.open, s.risk_probability,
       COALESCE(r.risk_reasons, arrow_cast(make_array(), 'List(Utf8)')) AS risk_reasons
FROM scored s LEFT JOIN reasons r ON r.unit_id = s.unit_id
ORDER BY s.unit_id
