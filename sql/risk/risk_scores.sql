-- Risk scores (scoring.md §3): the calibrated probability of a fire in the 365 days after
-- as_of, computed by the fitted model compiled to SQL, and each unit's three largest positive
-- feature contributions as reasons (logistic: log-odds against the average training unit;
-- forest: change in fire rate along the unit's paths).
-- Inputs: features. Parameter: $as_of. The marked expressions are generated from the model
-- artifact (model.json) by firecredit; they are its numbers, not user input. `scored` is read
-- once: the contributions travel as one array, paired with the feature names by unnest.
WITH scored AS (
    SELECT unit_id, open, /*PROBABILITY*/ AS risk_probability,
           make_array(/*CONTRIBUTIONS*/) AS contributions
    FROM features
    WHERE cutoff = $as_of
),
exploded AS (
    SELECT unit_id, open, risk_probability,
           unnest(make_array(/*FEATURES*/)) AS feature,
           unnest(contributions) AS contribution
    FROM scored
),
ranked AS (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY contribution DESC, feature) AS rn
    FROM exploded
)
SELECT unit_id, open, risk_probability,
       COALESCE(array_agg(feature || ':' || CAST(ROUND(contribution, 3) AS VARCHAR) ORDER BY rn)
                    FILTER (WHERE rn <= 3 AND contribution > 0),
                arrow_cast(make_array(), 'List(Utf8)')) AS risk_reasons
FROM ranked
GROUP BY unit_id, open, risk_probability
ORDER BY unit_id
