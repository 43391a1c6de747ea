"""The usual analyst path: pandas reads the CSV, lifetimes' summary_data_from_transaction_data
computes frequency, recency, T and monetary value per customer as of the last date.

  python bench/lifetimes_summary.py LOG.csv OUT.csv"""
import sys
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data

log, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(log, usecols=["customer_id", "date", "amount"], dtype={"customer_id": str}, parse_dates=["date"])
summary = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount",
                                             observation_period_end=df["date"].max(), freq="D")
summary.to_csv(out)
