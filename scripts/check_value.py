"""Refits retain's value stage with lifetimes and compares.

  python scripts/check_value.py OUTPUT_DIR

From OUTPUT_DIR (a run through the value stage):
- BG/NBD (lifetimes BetaGeoFitter) on snapshots/summary.csv (x, t_x, T in days) and
  Gamma-Gamma (GammaGammaFitter) on its customers with x > 0 and zbar > 0: each parameter
  within 1e-4 relative of value.json's;
- each scored customer's P(alive) and expected purchases over value.json's target_days
  (value.csv) within 1e-6, from lifetimes' formulas evaluated at retain's parameters (so
  the check is of the formulas; the parameters are checked above), and each expected spend.
Exit 0 when all hold, 1 otherwise.
"""
import contextlib
import io
import json
import sys
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

REL = 1e-4
ABS = 1e-6


def fit(fitter, *columns):
    """lifetimes' BFGS stops with "precision loss" when asked for more than it can give:
    the tightest of these tolerances it reaches."""
    for tol in (1e-9, 1e-8, 1e-7):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return fitter.fit(*columns, tol=tol)
        except ConvergenceError:
            continue
    return fitter.fit(*columns)


def rel_close(a, b, rel=REL):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def main(out):
    v = json.load(open(f"{out}/value.json"))
    s = pd.read_csv(f"{out}/snapshots/summary.csv", dtype={"customer_id": str}, keep_default_na=False)
    scored = pd.read_csv(f"{out}/value.csv", dtype={"customer_id": str}, keep_default_na=False)
    problems = 0
    warnings.simplefilter("ignore")
    if v["bgnbd"] is None:
        print(f"no BG/NBD in value.json (fallbacks: {v['fallbacks']})")
        return 1
    bg = BetaGeoFitter(penalizer_coef=0.0)
    fit(bg, s["x"], s["t_x"], s["T"])
    ours = v["bgnbd"]["parameters"]
    for name in ("r", "alpha", "a", "b"):
        if not rel_close(bg.params_[name], ours[name]):
            print(f"BG/NBD {name}: lifetimes {bg.params_[name]:.8g}, retain {ours[name]:.8g}")
            problems += 1
    repeat = s[(s["x"] > 0) & (s["zbar"] > 0)]
    if v["gamma_gamma"] is not None:
        gg = GammaGammaFitter(penalizer_coef=0.0)
        fit(gg, repeat["x"], repeat["zbar"])
        g = v["gamma_gamma"]["parameters"]
        for name, theirs in (("p", "p"), ("q", "q"), ("gamma", "v")):
            if not rel_close(gg.params_[theirs], g[name]):
                print(f"Gamma-Gamma {name}: lifetimes {gg.params_[theirs]:.8g}, retain {g[name]:.8g}")
                problems += 1
    # Per customer, at retain's parameters.
    bg.params_ = pd.Series({k: ours[k] for k in ("r", "alpha", "a", "b")})
    m = scored.merge(s, on="customer_id", how="left")
    if m["x"].isna().any():
        print("customers of value.csv missing from snapshots/summary.csv")
        return 1
    t = v["target_days"]
    alive = bg.conditional_probability_alive(m["x"], m["t_x"], m["T"])
    expected = bg.conditional_expected_number_of_purchases_up_to_time(t, m["x"], m["t_x"], m["T"])
    for name, theirs in (("p_alive", alive), ("expected_purchases", expected)):
        diff = np.abs(np.asarray(theirs, dtype=float) - m[name].to_numpy(dtype=float))
        if not (diff <= ABS).all():
            worst = int(np.argmax(diff))
            print(f"{name}: {int((diff > ABS).sum())} customers differ by more than {ABS}; worst {m['customer_id'][worst]}: "
                  f"lifetimes {np.asarray(theirs)[worst]:.10g}, retain {m[name][worst]:.10g}")
            problems += 1
    if v["gamma_gamma"] is not None:
        g = v["gamma_gamma"]["parameters"]
        gg.params_ = pd.Series({"p": g["p"], "q": g["q"], "v": g["gamma"]})
        rep = m["x"] > 0
        spend = gg.conditional_expected_average_profit(m["x"][rep], m["zbar"][rep])
        diff = np.abs(spend.to_numpy(dtype=float) - m["expected_spend"][rep].to_numpy(dtype=float))
        if not (diff <= ABS * np.maximum(1, np.abs(spend.to_numpy(dtype=float)))).all():
            print(f"expected_spend: {int((diff > ABS).sum())} repeat customers differ")
            problems += 1
    print(f"{len(s)} customers in the summary, {len(m)} scored: "
          + ("BG/NBD, Gamma-Gamma and per-customer figures agree with lifetimes" if problems == 0 else f"{problems} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
