"""The features of Sources/Features/Feature.swift and the churn label, for one snapshot,
as one DuckDB SQL query over the raw CSV: the independent engine both the correctness
check (scripts/check-features) and the benchmark (bench/run.sh) use.

As of A (history = dates <= A): recency, frequency (distinct order ids with amount > 0),
monetary (net / frequency), tenure, mean gap, recency over gap, net spend and orders in
(A-W, A] and (A-2W, A-W] (an order dated by its first line), refund rate, discount share,
service cost per order, margin rate; churned = no purchase in (A, A+H]; the population:
a purchase in (A - active, A]. `a` is a date literal or an SQL expression for a date.
"""

COLUMNS = ["recency_days", "frequency", "monetary", "tenure_days", "mean_gap_days", "recency_over_gap",
           "spend_last_window", "spend_previous_window", "orders_last_window", "orders_previous_window",
           "refund_rate", "discount_share", "service_cost_per_order", "margin_rate", "churned"]


def features_sql(log: str, a: str, horizon: int, window: int, active: int, optional: bool = True) -> str:
    """`a`: e.g. "DATE '2025-10-02'", or None to use (last date - horizon) of the log."""
    opt = "cost, discount, service_cost" if optional else "NULL::DOUBLE AS cost, NULL::DOUBLE AS discount, NULL::DOUBLE AS service_cost"
    asof = f"SELECT {a} AS a" if a else f"SELECT CAST(max(d) - INTERVAL {horizon} DAY AS DATE) AS a FROM t"
    return f"""
WITH t AS (SELECT order_id, customer_id, CAST(date AS DATE) AS d, CAST(amount AS DOUBLE) AS amount, {opt}
           FROM read_csv('{log}', header = true, types = {{'customer_id': 'VARCHAR', 'order_id': 'VARCHAR'}})),
p AS ({asof}),
h AS (SELECT t.* FROM t, p WHERE t.d <= p.a),
o AS (SELECT customer_id, order_id, min(d) AS od FROM h WHERE amount > 0 GROUP BY customer_id, order_id),
oc AS (SELECT customer_id, count(*) AS frequency,
              count(*) FILTER (WHERE od > a - {window}) AS orders_last,
              count(*) FILTER (WHERE od <= a - {window} AND od > a - {2 * window}) AS orders_prev
       FROM o, p GROUP BY customer_id),
agg AS (SELECT customer_id,
               max(d) FILTER (WHERE amount > 0) AS last_p, min(d) FILTER (WHERE amount > 0) AS first_p,
               sum(amount) AS net, sum(amount) FILTER (WHERE amount > 0) AS purchased,
               coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS refunded,
               coalesce(sum(amount) FILTER (WHERE d > a - {window}), 0) AS spend_last,
               coalesce(sum(amount) FILTER (WHERE d <= a - {window} AND d > a - {2 * window}), 0) AS spend_prev,
               coalesce(sum(amount) FILTER (WHERE amount > 0 AND discount > 0), 0) AS discounted,
               coalesce(sum(service_cost), 0) AS service, sum(cost) AS cost_sum,
               sum(amount) FILTER (WHERE cost IS NOT NULL) AS costed
        FROM h, p GROUP BY customer_id),
later AS (SELECT DISTINCT customer_id FROM t, p WHERE amount > 0 AND d > a AND d <= a + {horizon})
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
WHERE last_p > a - {active}
ORDER BY agg.customer_id
"""
