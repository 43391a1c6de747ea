"""The peer for the features stage: DuckDB computing the training snapshot's features and
churn label from the CSV in one SQL query, written to CSV (as retain writes features.csv).
Definitions as in Sources/Features/Feature.swift; A = last date - H; H = W = 90, active
window 365 days (retain's defaults)."""
import sys
import duckdb

log, out = sys.argv[1], sys.argv[2]
H, W, ACTIVE = 90, 90, 365
sql = f"""
COPY (
WITH t AS (SELECT order_id, customer_id, CAST(date AS DATE) AS d, amount, cost, discount, service_cost
           FROM read_csv('{log}', header = true)),
p AS (SELECT CAST(max(d) - INTERVAL {H} DAY AS DATE) AS a FROM t),
h AS (SELECT t.* FROM t, p WHERE t.d <= p.a),
o AS (SELECT customer_id, order_id, min(d) AS od FROM h WHERE amount > 0 GROUP BY customer_id, order_id),
oc AS (SELECT customer_id, count(*) AS frequency,
              count(*) FILTER (WHERE od > a - {W}) AS orders_last,
              count(*) FILTER (WHERE od <= a - {W} AND od > a - {2 * W}) AS orders_prev
       FROM o, p GROUP BY customer_id),
agg AS (SELECT customer_id,
               max(d) FILTER (WHERE amount > 0) AS last_p, min(d) FILTER (WHERE amount > 0) AS first_p,
               sum(amount) AS net, sum(amount) FILTER (WHERE amount > 0) AS purchased,
               coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS refunded,
               coalesce(sum(amount) FILTER (WHERE d > a - {W}), 0) AS spend_last,
               coalesce(sum(amount) FILTER (WHERE d <= a - {W} AND d > a - {2 * W}), 0) AS spend_prev,
               coalesce(sum(amount) FILTER (WHERE amount > 0 AND discount > 0), 0) AS discounted,
               coalesce(sum(service_cost), 0) AS service, sum(cost) AS cost_sum,
               sum(amount) FILTER (WHERE cost IS NOT NULL) AS costed
        FROM h, p GROUP BY customer_id),
later AS (SELECT DISTINCT customer_id FROM t, p WHERE amount > 0 AND d > a AND d <= a + {H})
SELECT agg.customer_id, a - last_p AS recency_days, frequency, net / frequency AS monetary, a - first_p AS tenure_days,
       CASE WHEN frequency >= 2 THEN (last_p - first_p) / (frequency - 1) END AS mean_gap_days,
       CASE WHEN frequency >= 2 AND last_p > first_p THEN (a - last_p) / ((last_p - first_p) / (frequency - 1)) END AS recency_over_gap,
       spend_last, spend_prev, orders_last, orders_prev,
       CASE WHEN purchased > 0 THEN refunded / purchased ELSE 0 END AS refund_rate,
       CASE WHEN purchased > 0 THEN discounted / purchased ELSE 0 END AS discount_share,
       service / frequency AS service_cost_per_order,
       CASE WHEN costed <> 0 THEN (costed - cost_sum) / costed END AS margin_rate,
       CASE WHEN later.customer_id IS NULL THEN 1 ELSE 0 END AS churned
FROM agg JOIN oc USING (customer_id) CROSS JOIN p LEFT JOIN later USING (customer_id)
WHERE last_p > a - {ACTIVE}
ORDER BY agg.customer_id
) TO '{out}' (HEADER)
"""
duckdb.connect().execute(sql)
