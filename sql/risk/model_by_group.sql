-- The backtest by district and by use type (公平公正): where the model is systematically wrong
-- for one region or kind of unit, its mean predicted probability is far from the observed fire
-- rate there, or its AUC is low. One row per grouping and group.
-- Inputs: risk_scores (unit_id, open, risk_probability, fire: the backtest's probabilities at
-- its test cutoff and whether the unit had a fire in the 365 days after), units.
-- AUC is the Mann–Whitney statistic: the sum of the fires' ranks by probability (tied units
-- share their average rank) less fires × (fires + 1) / 2, over fires × non-fires; null when a
-- group has no fire or only fires. Average ranks are whole or half numbers, so their float sums
-- are exact in any order.
WITH scored AS (
    SELECT s.risk_probability AS p, s.fire, u.district_code, u.use_type
    FROM risk_scores s
    JOIN units u ON u.unit_id = s.unit_id
    WHERE s.open
),
grouped AS (
    SELECT 'district' AS grouping, district_code AS grp, p, fire FROM scored
    UNION ALL
    SELECT 'use_type' AS grouping, use_type AS grp, p, fire FROM scored
),
-- A unit's average rank is the mean of its ties' first rank (RANK) and last (COUNT over the
-- default frame, which ends with the last tie), from one sort of the group.
ranked AS (
    SELECT grouping, grp, p, fire,
           CAST(RANK() OVER w + COUNT(*) OVER w AS DOUBLE) / 2.0 AS avg_rank
    FROM grouped
    WINDOW w AS (PARTITION BY grouping, grp ORDER BY p)
),
totals AS (
    SELECT grouping, grp,
           COUNT(*) AS units,
           SUM(CASE WHEN fire THEN 1 ELSE 0 END) AS fires,
           -- Summed as exact decimals: a float sum would depend on how the engine split the
           -- rows between threads, and the report must not change from one run to the next.
           CAST(SUM(CAST(p AS DECIMAL(38, 18))) AS DOUBLE) / CAST(COUNT(*) AS DOUBLE) AS mean_predicted,
           SUM(CASE WHEN fire THEN avg_rank ELSE 0.0 END) AS fire_rank_sum
    FROM ranked
    GROUP BY grouping, grp
)
SELECT grouping, grp AS "group", units, fires, mean_predicted,
       CAST(fires AS DOUBLE) / CAST(units AS DOUBLE) AS observed_rate,
       CASE WHEN fires > 0 AND fires < units
            THEN (fire_rank_sum - CAST(fires AS DOUBLE) * CAST(fires + 1 AS DOUBLE) / 2.0)
                 / (CAST(fires AS DOUBLE) * CAST(units - fires AS DOUBLE))
       END AS auc
FROM totals
ORDER BY grouping, "group"
