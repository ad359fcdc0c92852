"""How often does the sequential screen accept a proxy that is exactly at the threshold?

Simulates d_i with true mean 0 (q_proxy = tau * q_oracle on average) and
runs proxyx's own decision rule (``t_bounds`` after every instance from
min_instances to max_instances). The nominal rate is 1 - confidence; looking
after every instance inflates it. Prints the measured rate per setting.

    .venv/bin/python scripts/screen_error_rate.py [--reps 5000]
"""

from __future__ import annotations

import argparse

import numpy as np

from proxyx.config import ScreenConfig
from proxyx.screen import t_bounds


def false_accept_rate(cfg: ScreenConfig, draw, reps: int, rng) -> float:
    accepted = 0
    for _ in range(reps):
        d = draw(rng, cfg.max_instances)
        for n in range(cfg.min_instances, cfg.max_instances + 1):
            _, lo, hi = t_bounds(list(d[:n]), cfg.per_look_confidence)
            if lo > 0:
                accepted += 1
                break
            if hi < 0:
                break
    return accepted / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000)
    args = ap.parse_args()
    draws = {
        "normal": lambda rng, n: rng.normal(0.0, 1.0, n),
        "skewed (exp - 1)": lambda rng, n: rng.exponential(1.0, n) - 1.0,
        "heavy-tailed (t3)": lambda rng, n: rng.standard_t(3, n),
    }
    print(f"{'d distribution':<20} {'confidence':>10} {'looks':>6} {'corrected':>10} {'false accept':>13}")
    for name, draw in draws.items():
        for correct in (False, True):
            cfg = ScreenConfig(confidence=0.99, min_instances=5, max_instances=50, correct_for_looks=correct)
            rate = false_accept_rate(cfg, draw, args.reps, np.random.default_rng(0))
            looks = cfg.max_instances - cfg.min_instances + 1
            print(f"{name:<20} {cfg.confidence:>10} {looks:>6} {str(correct):>10} {rate:>13.4f}")
    print("nominal rate: 0.0100")


if __name__ == "__main__":
    main()
