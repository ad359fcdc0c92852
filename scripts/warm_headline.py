"""Pay the headline's largest oracle cost up front: Gemma's answers on the 1000-sample masks.

    nice -n 5 .venv/bin/python scripts/warm_headline.py [CONFIG [METHOD [LIMIT]]]

For every explained instance of the bench config and both explainers, the
oracle answers the masks of the largest budget and the held-out masks of
local fidelity, through the cache and the ledger (purpose ``warm``). Smaller budgets' masks are (nearly all) among
them, so the bench that follows reads them from the cache. Resumable: it
pays only for what the cache does not hold. Prints progress and calls/s.
"""

from __future__ import annotations

import sys
import time

from proxyx.config import apply_overrides, load_config
from proxyx.explain import instance_seed
from proxyx.explainers import make_explainer
from proxyx.fidelity import heldout_masks
from proxyx.perturb import Segments
from proxyx.session import load_instances, open_session


def main(path: str = "configs/bench_fine_foods.yaml", method: str | None = None, limit: str | None = None) -> None:
    """``limit``: the first LIMIT instances only (as ``proxyx bench --limit``)."""
    config = load_config(path)
    if limit is not None:
        config = apply_overrides(config, **{"dataset.limit": int(limit)})
    session = open_session(config)
    session.oracle.model.n_threads = 1  # bit-identical answers; under CPU contention twice as fast as 2 threads
    instances = load_instances(config)
    samples = max([*config.bench.samples, *(config.bench.oracle_ladder or [])])
    started = time.perf_counter()
    for method in [method] if method else config.bench.methods:
        for i, x in enumerate(instances):
            segments = Segments(x.text)
            seed = instance_seed(config.seed, x.id)
            masks = make_explainer(method, samples=samples, seed=seed).sample_masks(len(segments))
            held = heldout_masks(method, len(segments), samples=config.fidelity.heldout_samples, seed=seed)
            session.oracle(segments.render_many(masks) + segments.render_many(held), "warm")
            t = session.ledger.total()
            elapsed = time.perf_counter() - started
            print(f"{method} {i + 1}/{len(instances)}: {t.paid.calls} paid, {t.hits} cached, "
                  f"{t.paid.calls / elapsed:.1f} calls/s, {elapsed / 60:.1f} min", flush=True)
    session.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
