"""lifetimes' BG/NBD and Gamma-Gamma fits of a retain customer-base summary
(snapshots/summary.csv: x, t_x, T in days, zbar), the same data retain fitted.

  python bench/lifetimes_fit.py summary.csv

Loads with pandas (not timed), then times BetaGeoFitter().fit(x, t_x, T) and
GammaGammaFitter().fit(x, zbar) on the customers with x > 0 and zbar > 0; prints
`bgnbd_seconds S gamma_gamma_seconds S`."""
import sys, time, warnings
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

warnings.simplefilter("ignore")
s = pd.read_csv(sys.argv[1], dtype={"customer_id": str}, keep_default_na=False)
t = time.perf_counter()
BetaGeoFitter(penalizer_coef=0.0).fit(s["x"], s["t_x"], s["T"])
bg = time.perf_counter() - t
repeat = s[(s["x"] > 0) & (s["zbar"] > 0)]
t = time.perf_counter()
GammaGammaFitter(penalizer_coef=0.0).fit(repeat["x"], repeat["zbar"])
print(f"bgnbd_seconds {bg:.4f} gamma_gamma_seconds {time.perf_counter() - t:.4f}")
