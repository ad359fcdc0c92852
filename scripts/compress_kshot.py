"""How many of a compress config's demonstrations does the oracle need? Accuracy with k of them, k = 0..all.

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/compress_kshot.py [configs/compress_fine_foods.yaml]
        [--draws 4] [--no-instruction]

For k = 0, 1, 2, 4, 6 and all demonstrations of the config's prompt
(``demonstrations`` block), ``--draws`` seeded random subsets of size k (one
for 0 and all), the oracle's accuracy on the config's test instances with only
those demonstrations kept. ``--no-instruction`` drops ``task.instruction``
(a harder prompt: the demonstrations alone define the task). When one well
chosen demonstration already keeps the full accuracy, every good ranking
removes all the others and compression cannot tell good rankings apart.
Calls go through the config's cache (purpose ``evaluate``).
"""

from __future__ import annotations

import argparse

import numpy as np

from proxyx.apps.demos import demonstrations, instances, with_shots
from proxyx.apps.scoring import accuracy, open_prompt_session, probabilities
from proxyx.config import load_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="configs/compress_fine_foods.yaml")
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument("--no-instruction", action="store_true")
    args = ap.parse_args()
    config = load_config(args.config)
    cc, shots = config.compress, demonstrations(config)
    task = with_shots(config.task, shots)
    if args.no_instruction:
        task = task.model_copy(update={"instruction": ""})
    _, test = instances(config, shots, cc.validation, cc.test)
    session = open_prompt_session(config, task, "demonstration")
    n, rng = len(shots), np.random.default_rng(1)
    print(f"{args.config}{' without the instruction' if args.no_instruction else ''}: demonstrations "
          f"{[s.label for s in shots]}; {len(test)} test instances, {np.mean([x.label == task.labels[0] for x in test]):.2f} "
          f"labelled {task.labels[0]}")
    try:
        for k in sorted({0, 1, 2, 4, 6, n} & set(range(n + 1))):
            subsets = [np.arange(n)] if k == n else [rng.choice(n, k, replace=False)
                                                     for _ in range(1 if k == 0 else args.draws)]
            accs = []
            for sub in subsets:
                mask = np.zeros(n, dtype=bool)
                mask[sub] = True
                probs = probabilities(session.oracle, task, "demonstration", test, [mask], "evaluate")
                accs.append(float(accuracy(probs, test, list(task.labels))[0]))
            print(f"  k = {k}: accuracy {' '.join(f'{a:.2f}' for a in accs)}")
    finally:
        session.close()


if __name__ == "__main__":
    main()
