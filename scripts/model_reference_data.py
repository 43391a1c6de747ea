"""The small deterministic data set that Tests/ChurnModelTests/StatsmodelsTests.swift
rebuilds: an LCG (Knuth's MMIX constants), so Python and Swift make identical doubles.
Run: .venv/bin/python scripts/model_reference_data.py  (prints statsmodels' fit)."""
import numpy as np
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

MASK = (1 << 64) - 1

def rows(n=400):
    s = 42
    out = []
    for _ in range(n):
        u = []
        for _ in range(4):
            s = (s * 6364136223846793005 + 1442695040888963407) & MASK
            u.append((s >> 11) / float(1 << 53))
        x1 = u[0] * 10.0          # e.g. recency in tens of days
        x2 = float(int(u[1] * 6)) # a count 0..5
        x3 = u[2] - 0.5           # a centred share
        # churn more likely with x1, less with x2; x3 is noise
        y = 1.0 if u[3] < (0.15 + 0.07 * x1 - 0.05 * x2 + 0.1) else 0.0
        out.append((x1, x2, x3, y))
    return np.array(out)

if __name__ == "__main__":
    d = rows()
    X = sm.add_constant(d[:, :3])
    r = sm.Logit(d[:, 3], X).fit(method="newton", disp=0, tol=1e-12, maxiter=100)
    np.set_printoptions(precision=17)
    print("churned", int(d[:, 3].sum()), "of", len(d))
    print("params", repr(r.params.tolist()))
    print("bse", repr(r.bse.tolist()))
    print("llf", repr(r.llf), "llnull", repr(r.llnull))
    print("auc", repr(roc_auc_score(d[:, 3], r.predict(X))))
