-- Risk scores (scoring.md §3): the calibrated probability of a fire in the 365 days after
-- as_of, computed by the fitted model compiled to SQL, and each unit's three largest positive
-- feature contributions (log-odds relative to the average training unit) as reasons.
-- Inputs: features. Parameter: $as_of. The marked expressions are generated from the model
-- artifact (model.json) by firecredit; they are its numbers, not user input.
WITH scored AS (
    SELECT unit_id, open, /*PROBABILITY*/ AS risk_probability, /*CONTRIBUTIONS*/
    FROM features
    WHERE cutoff = $as_of
),
contributions AS (
    /*UNPIVOT*/
),
ranked AS (
    SELECT unit_id, feature, contribution,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY contribution DESC, feature) AS rn
    FROM contributions
    WHERE contribution > 0
),
reasons AS (
    SELECT unit_id,
           array_agg(feature || ':' || CAST(ROUND(contribution, 3) AS VARCHAR) ORDER BY rn) AS risk_reasons
    FROM ranked WHERE rn <= 3
    GROUP BY unit_id
)
SELECT s.unit_id, s.open, s.risk_probability,
       COALESCE(r.risk_reasons, arrow_cast(make_array(), 'List(Utf8)')) AS risk_reasons
FROM scored s LEFT JOIN reasons r ON r.unit_id = s.unit_id
ORDER BY s.unit_id
