"""Refits retain's training_matrix.csv with statsmodels and compares.

  python scripts/check_model.py OUTPUT_DIR

Checks, against coefficients.csv and model.json of OUTPUT_DIR (a run with model.l2 = 0):
coefficients, standard errors and the log-likelihood to 1e-6 relative (statsmodels
Logit(...).fit(method="newton")), and the in-sample ROC AUC to 1e-9 (scikit-learn
roc_auc_score on statsmodels' predictions). Exit 0 when all hold, 1 otherwise.
"""
import json
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

REL = 1e-6


def close(a, b, rel=REL):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def main(out):
    m = pd.read_csv(f"{out}/training_matrix.csv", dtype={"customer_id": str}, keep_default_na=False)
    coef = pd.read_csv(f"{out}/coefficients.csv")
    model = json.load(open(f"{out}/model.json"))
    if model["fit"]["l2"] != 0:
        print(f"model.l2 is {model['fit']['l2']}: statsmodels' Newton fit is unpenalised; run with model.l2 = 0")
        return 1
    terms = [c for c in m.columns if c not in ("customer_id", "churned")]
    X = sm.add_constant(m[terms].to_numpy(dtype=float), has_constant="add")
    y = m["churned"].to_numpy(dtype=float)
    r = sm.Logit(y, X).fit(method="newton", disp=0, tol=1e-12, maxiter=100)
    names = ["intercept"] + terms
    problems = 0
    if list(coef["term"]) != names:
        print(f"terms differ: coefficients.csv {list(coef['term'])} vs training_matrix.csv {names}")
        return 1
    worst = 0.0
    for i, name in enumerate(names):
        for what, ours, theirs in (("coefficient", coef["coefficient"][i], r.params[i]),
                                   ("std_error", coef["std_error"][i], r.bse[i])):
            d = abs(ours - theirs) / max(abs(theirs), 1e-300)
            worst = max(worst, d)
            if not close(ours, theirs):
                problems += 1
                print(f"{name} {what}: retain {ours!r} statsmodels {theirs!r} (relative {d:.2e})")
    ll = model["fit"]["log_likelihood"]
    if not close(ll, r.llf):
        problems += 1
        print(f"log-likelihood: retain {ll!r} statsmodels {r.llf!r}")
    auc = roc_auc_score(y, r.predict(X))
    ours_auc = model["training_metrics"]["auc"]
    if abs(auc - ours_auc) > 1e-9:
        problems += 1
        print(f"in-sample AUC: retain {ours_auc!r} scikit-learn {auc!r}")
    print(f"{len(y)} customers x {len(terms)} terms: {problems} problems; worst relative difference "
          f"{worst:.1e} (limit {REL}); log-likelihood {ll:.6f} vs {r.llf:.6f}; AUC {ours_auc:.9f} vs {auc:.9f}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
