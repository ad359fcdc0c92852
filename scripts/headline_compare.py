"""Old vs new headline on the new run's reviews (all of them, or the first 10 of a 10-review run): mean AOPC of every route, and the
estimator minus the oracle alone at the same n, paired over the reviews (t 95% interval).

    .venv/bin/python scripts/headline_compare.py docs/headline/bench.json docs/headline-10/bench.json
"""
import json, sys
import numpy as np
from scipy import stats
old, new = (json.load(open(p)) for p in sys.argv[1:3])
def cells(d):
    return {tuple(sorted((k, str(v)) for k, v in c["route"].items())): c for c in d["frontier"]["cells"]}
O, N = cells(old), cells(new)
ids = [p["id"] for p in next(iter(N.values()))["points"]]
def aopc(c): 
    by = {p["id"]: p["aopc"] for p in c["points"]}
    return np.array([by[i] for i in ids])
def ci(x):
    m = x.mean(); h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return f"{m:+.3f} ({m-h:+.3f}, {m+h:+.3f})"
for method in ("lime", "kernel_shap"):
    ref_key = next(k for k, c in N.items() if c["route"]["method"] == method and c["route"]["kind"] == "oracle" and c["route"]["oracle_samples"] == 1000)
    ref_new, ref_old = aopc(N[ref_key]).mean(), aopc(O[ref_key]).mean()
    print(f"== {method}: reference AOPC ({len(ids)} reviews) old {ref_old:.3f} new {ref_new:.3f}")
    for n in (25, 50, 100):
        ak = next(k for k, c in N.items() if c["route"]["method"] == method and c["route"]["kind"] == "oracle" and c["route"]["oracle_samples"] == n)
        a_new, a_old = aopc(N[ak]), aopc(O[ak])
        print(f" n={n} oracle alone: share old {a_old.mean()/ref_old:.2f} new {a_new.mean()/ref_new:.2f}")
        for k, c in sorted(N.items(), key=lambda kc: (kc[1]["route"]["estimator"] or "", kc[1]["route"]["proxy"] or "")):
            r = c["route"]
            if r["method"] != method or r["kind"] != "estimator" or r["oracle_samples"] != n:
                continue
            e_new, e_old = aopc(c), aopc(O[k])
            print(f"   {r['estimator']:22s} {r['proxy']:15s} share old {e_old.mean()/ref_old:.2f} new {e_new.mean()/ref_new:.2f}"
                  f" | vs alone old {ci(e_old - a_old)} new {ci(e_new - a_new)}")
