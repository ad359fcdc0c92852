"""The precision headline's interval coverage with Gemma, recomputed from a cache without paying a call.

    PYTHONPATH=. .venv/bin/python scripts/headline_coverage.py --cache-dir DIR [--limit 30] \
        [--out docs/tables/headline_coverage.json]

``scripts/precision_headline.py``'s ``coverage`` (its 30 headline reviews,
``value +- 1.645 se`` against the 1,000-sample reference, the reference's
own error added in quadrature) on the Gemma answers a run of it left in
``--cache-dir``, with this checkout's standard errors: what the
uncertainty module's changes do to the headline's coverage, without the
lock or Gemma. The oracle's ``predict`` is replaced by one that refuses: an
answer not in the cache stops the run (nothing is paid, nothing runs
Gemma). Use a copy of a cache that another run is writing (Python's
``sqlite3.connect(SRC).backup(sqlite3.connect(DST + "/calls.sqlite"))``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from precision_headline import PROXY, coverage

from proxyx.config import apply_overrides, load_config
from proxyx.errors import CacheError
from proxyx.session import open_session

OUT = Path("docs/tables/headline_coverage.json")


def refuse(*args, **kwargs):
    raise CacheError("an oracle answer is not in --cache-dir: this script never calls the oracle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/bench_fine_foods.yaml")
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    config = apply_overrides(load_config(args.config), cache_dir=args.cache_dir, proxies=[{"model": PROXY}])
    session = open_session(config)
    session.oracle.model.predict = refuse
    try:
        instances = session.task.instances(limit=args.limit)
        out = {"oracle": config.oracle.model, "reviews": len(instances), "coverage": {}}
        for method in ("lime", "kernel_shap"):
            out["coverage"][method] = coverage(session, instances, method, config.seed)
            for key, c in out["coverage"][method].items():
                print(f"{method:12} {key:30} {c['coverage']:6.1%}  not estimable {c['not_estimable']:5.1%}", flush=True)
    finally:
        session.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
