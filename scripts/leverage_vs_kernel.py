"""Leverage-score sampling against today's kernel sampler and shap's KernelExplainer, at equal evaluations.

    PYTHONPATH=. .venv/bin/python scripts/leverage_vs_kernel.py [--seeds 100] [--budgets 16 32 64 128 256]

Games small enough for the exact Shapley values (2**n evaluations):

- vader: local/vader's probability of its own label on every real fine-food
  review of at most 14 words (both splits), a word removed when masked
  (proxyx's ``Segments``, as ``proxyx explain`` masks);
- toy: ``--toys`` draws of a sigmoid of a linear term plus pairwise
  interactions over 14 units (not additive), and the same over 20 units
  (``--toy-units``: where the allocation over sizes has more room to matter).

Each game is evaluated once on all 2**n coalitions and every route reads that
table: the same game for all, and no model call repeated. The exact values
come from the Shapley formula over the table, not from a regression.

Routes at a budget B (evaluations, the full and empty coalitions included):

- kernel: ``KernelShapExplainer(samples=B)`` (today's sampler);
- leverage: ``KernelShapExplainer(samples=B, sampler="leverage")``;
- shap: ``shap.KernelExplainer`` with a zero background and the all-ones
  instance (an absent unit is masked: the same game), ``nsamples=B-2`` (it
  evaluates the empty coalition when built and the full one when explaining;
  the evaluations are counted and checked against B), ``l1_reg=False`` (its
  default, ``num_features(10)``, selects features first: another method),
  seeded through ``np.random.seed``.

Error: the L2 distance to the exact values. Per seed, the mean over a game
set's games; then the mean over seeds with a 95% t interval, and leverage's
error as a share of kernel's and of shap's (ratio of mean errors, paired
bootstrap interval over seeds). For shap also the median over every run and
the runs with an error above 1: below about n evaluations its unregularised
solve of a (nearly) singular system can return huge values, which then make
its mean. Prints the tables and writes ``docs/tables/leverage.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import shap

from proxyx.config import parse_config
from proxyx.data import load_split
from proxyx.explainers import make_explainer
from proxyx.explainers.base import all_coalitions
from proxyx.models import build_model
from proxyx.perturb import Segments
from proxyx.stats import mean_t, ratio_of_means

ROUTES = ("kernel", "leverage", "shap")
MAX_UNITS = 14
OUT = Path("docs/tables/leverage.json")


class Game:
    """A value per coalition of ``n`` units, as a table indexed by the integer the mask's bits spell."""

    def __init__(self, name: str, table: np.ndarray):
        self.name, self.table = name, table
        self.n = int(math.log2(len(table)))
        self.bits = 2 ** np.arange(self.n)

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        return self.table[np.asarray(masks, dtype=bool).astype(np.int64) @ self.bits]

    def shapley(self) -> np.ndarray:
        """The Shapley formula: sum over S without i of |S|! (n-|S|-1)! / n! (v(S + i) - v(S))."""
        n, codes = self.n, np.arange(len(self.table))
        size = np.array([int(c).bit_count() for c in codes])
        weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) if s < n else 0.0
                           for s in range(n + 1)])
        phi = np.empty(n)
        for i in range(n):
            without = codes[(codes >> i) & 1 == 0]
            phi[i] = weight[size[without]] @ (self.table[without | 1 << i] - self.table[without])
        return phi


def vader_games() -> list[Game]:
    """local/vader on every fine-food review of at most MAX_UNITS words, the probability of its own label."""
    config = parse_config({"oracle": "local/vader"})
    vader = build_model(config.oracle, config.task)
    games = []
    for split in ("test", "train"):
        for x in load_split("fine_foods", split):
            segments = Segments(x.text)
            if len(segments.units) > MAX_UNITS:
                continue
            masks = all_coalitions(len(segments.units))[::-1]  # row c: the coalition whose bits spell c
            probs = np.array([a.probs for a in vader.predict(segments.render_many(masks))])
            label = int(np.argmax(probs[-1]))  # the label on the whole text, as proxyx explains it
            games.append(Game(f"vader/{x.id}", probs[:, label]))
    return games


def toy_games(count: int, n: int) -> list[Game]:
    """A sigmoid of a linear term plus pairwise interactions over ``n`` units, one per seed."""
    games = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        w, v = rng.normal(size=n), rng.normal(size=n)
        pairs = rng.integers(0, n, size=(n, 2))
        table = np.empty(2**n)
        for start in range(0, 2**n, 2**14):  # in blocks: 2**20 coalitions at once would take a gigabyte
            codes = np.arange(start, min(start + 2**14, 2**n))
            masks = ((codes[:, None] >> np.arange(n)) & 1).astype(float)
            z = masks @ w + (masks[:, pairs[:, 0]] * masks[:, pairs[:, 1]]) @ v
            table[codes] = 1.0 / (1.0 + np.exp(-z))
        games.append(Game(f"toy{n}/{seed}", table))
    return games


def shap_values(game: Game, budget: int, seed: int) -> np.ndarray:
    """shap's KernelExplainer on ``game`` with ``budget`` evaluations in all (checked)."""
    calls = []

    def f(x):
        calls.append(len(x))
        return game(np.asarray(x) > 0.5)

    np.random.seed(seed)
    explainer = shap.KernelExplainer(f, np.zeros((1, game.n)))
    with warnings.catch_warnings():  # a singular system at small budgets: shap falls back to least squares, and says so
        warnings.simplefilter("ignore", UserWarning)
        values = explainer.shap_values(np.ones((1, game.n)), nsamples=budget - 2, l1_reg=False, silent=True)
    if sum(calls) > budget:
        raise RuntimeError(f"shap evaluated {sum(calls)} coalitions at budget {budget}")
    return np.asarray(values, dtype=float).reshape(game.n)


def route_values(route: str, game: Game, budget: int, seed: int) -> np.ndarray:
    if route == "shap":
        return shap_values(game, budget, seed)
    return make_explainer("kernel_shap", samples=budget, seed=seed, sampler=route).explain(game.n, game).values


def measure(games: list[Game], budgets: list[int], seeds: int) -> dict:
    """Per budget and route: the error of every seed (mean over games), and its summary."""
    exact = [g.shapley() for g in games]
    errors = {b: {r: np.zeros((seeds, len(games))) for r in ROUTES} for b in budgets}
    for j, (game, phi) in enumerate(zip(games, exact)):
        for b in budgets:
            for r in ROUTES:
                for s in range(seeds):
                    errors[b][r][s, j] = np.linalg.norm(route_values(r, game, b, s) - phi)
    rows = []
    for b in budgets:
        per_seed = {r: errors[b][r].mean(axis=1) for r in ROUTES}
        row = {"budget": b}
        for r in ROUTES:
            i = mean_t(per_seed[r])
            runs = errors[b][r]
            row[r] = {"mean": i.estimate, "low": i.low, "high": i.high, "median": float(np.median(runs)),
                      "blown_up": int((runs > 1.0).sum())}
        for other in ("kernel", "shap"):
            i = ratio_of_means(per_seed["leverage"], per_seed[other])
            row[f"leverage_over_{other}"] = {"ratio": i.estimate, "low": i.low, "high": i.high}
        rows.append(row)
    return {"games": [g.name for g in games], "units": [g.n for g in games],
            "mean_abs_shapley": float(np.mean([np.abs(p).mean() for p in exact])), "rows": rows}


def _num(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 1000 else f"{x:.1e}"


def print_table(title: str, result: dict) -> None:
    print(f"\n{title}: {len(result['games'])} games, {min(result['units'])}-{max(result['units'])} units, "
          f"mean |Shapley value| {result['mean_abs_shapley']:.4f}; L2 error to the exact values, mean [95% CI]")
    print(f"{'budget':>6} | {'kernel (today)':>26} | {'leverage':>26} | {'shap KernelExplainer':>26} | "
          f"{'shap median, >1':>16} | {'leverage/kernel':>18} | {'leverage/shap':>18}")
    for row in result["rows"]:
        cells = [f"{_num(row[r]['mean'])} [{_num(row[r]['low'])}, {_num(row[r]['high'])}]" for r in ROUTES]
        cells.append(f"{row['shap']['median']:.4f}, {row['shap']['blown_up']}")
        ratios = [f"{q['ratio']:.2f} [{q['low']:.2f}, {q['high']:.2f}]"
                  for q in (row["leverage_over_kernel"], row["leverage_over_shap"])]
        print(f"{row['budget']:>6} | " + " | ".join(f"{c:>26}" for c in cells[:3]) + f" | {cells[3]:>16} | "
              + " | ".join(f"{c:>18}" for c in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budgets", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--toys", type=int, default=10, help="draws of the toy game")
    parser.add_argument("--toy-units", type=int, nargs="+", default=[14, 20],
                        help="units of the toy games (one set per number; exact values take 2**units evaluations)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    start = time.perf_counter()
    sets = {"vader": vader_games(), **{f"toy, {n} units": toy_games(args.toys, n) for n in args.toy_units}}
    results = {name: measure(games, args.budgets, args.seeds) for name, games in sets.items()}
    for name, result in results.items():
        print_table(name, result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seeds": args.seeds, "budgets": args.budgets, "routes": list(ROUTES),
                                    "shap_version": shap.__version__, "games": results}, indent=1) + "\n")
    print(f"\nwrote {args.out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
