-- Inspection plan, step 2: eligible units per (sub-)stratum, with its annual rate (as written
-- in parameters.csv) and campaign multiplier; firecredit computes each stratum's draw count
-- from these and «plan_months» exactly (stages/plan/draw.rs).
-- Inputs: plan_population, campaign, plan_rates.
SELECT p.stratum, p.base_stratum, r.rate,
       COALESCE(c.multiplier, '1') AS multiplier,
       COALESCE(c.m_num, 1) AS m_num, COALESCE(c.m_den, 1) AS m_den,
       COUNT(*) AS eligible
FROM plan_population p
JOIN plan_rates r ON r.stratum = p.base_stratum
LEFT JOIN campaign c ON p.stratum = p.base_stratum || ':' || c.use_type
GROUP BY p.stratum, p.base_stratum, r.rate, c.multiplier, c.m_num, c.m_den
ORDER BY p.stratum
