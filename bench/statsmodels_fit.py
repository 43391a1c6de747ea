"""statsmodels' Newton fit of a retain training_matrix.csv (the matrix retain fitted).

  python bench/statsmodels_fit.py training_matrix.csv

Loads with pandas (not timed), then times Logit(y, add_constant(X)).fit(method="newton")
and prints `fit_seconds N iterations K`."""
import sys, time
import numpy as np
import pandas as pd
import statsmodels.api as sm

m = pd.read_csv(sys.argv[1], dtype={"customer_id": str}, keep_default_na=False)
terms = [c for c in m.columns if c not in ("customer_id", "churned")]
X = sm.add_constant(m[terms].to_numpy(dtype=float), has_constant="add")
y = m["churned"].to_numpy(dtype=float)
t = time.perf_counter()
r = sm.Logit(y, X).fit(method="newton", disp=0)
print(f"fit_seconds {time.perf_counter() - t:.4f} iterations {r.mle_retvals['iterations']}")
