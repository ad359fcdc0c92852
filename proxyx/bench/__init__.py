"""proxyx bench: fidelity against cost over proxies x explainers x sample budgets.

    proxyx bench configs/bench_small.yaml --out runs/bench_small

Which proxy and how many samples give faithful explanations of the oracle
for the least money? ``run`` runs the grid, ``summary`` summarises it (views,
Pareto front, headline), ``render`` draws the tables and bench.md, ``plot``
the figure. The names below are imported on first use, so importing one
submodule (``bench.plot``, say) does not import the others.
"""

import importlib

_PUBLIC = {
    "FILES": "run",
    "bench_markdown": "render",
    "bench_proxies": "run",
    "bench_tables": "render",
    "headline": "summary",
    "pareto": "summary",
    "plot_fidelity_vs_cost": "plot",
    "print_bench": "render",
    "run_bench": "run",
    "write_outputs": "run",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
