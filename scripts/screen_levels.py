"""The screen of a generate report, level by level: what decided it.

    .venv/bin/python scripts/screen_levels.py runs/qa_generate_proxy.json

Prints each screened proxy's decision, mean d and its one-sided bounds, the
range of d and of the oracle's AOPC over the questions, and per level the
mean (and median) Spearman of the proxy's ranking against the oracle's, the
mean top-k Jaccard and the mean AOPC of both explanations.
"""

from __future__ import annotations

import sys

import numpy as np

from proxyx.results import ExplainReport


def main() -> None:
    report = ExplainReport.load(sys.argv[1])
    if report.screen is None:
        sys.exit(f"{sys.argv[1]} holds no screen; run an explain with screen.enabled and a proxy")
    for p in report.screen.proxies:
        d = [i.d for i in p.instances]
        print(f"{p.proxy}: {p.decision} after {p.n} questions ({p.examined} examined, {p.disagreements} failed the "
              f"gate); mean d {p.mean_d:.2f}, bounds [{p.lower:.2f}, {p.upper:.2f}]; d from {min(d):.2f} to {max(d):.2f}")
        levels = sorted({lv.unit for i in p.instances for lv in i.levels}, key=["document", "sentence", "word"].index)
        aopc = [lv.q_oracle.aopc for i in p.instances for lv in i.levels]
        print(f"  oracle AOPC from {min(aopc):.2f} to {max(aopc):.2f} over questions and levels")
        for unit in levels:
            lv = [lv for i in p.instances for lv in i.levels if lv.unit == unit]
            sp = [x.agreement.spearman for x in lv if x.agreement.spearman is not None]
            print(f"  {unit}: Spearman mean {np.mean(sp):.2f}, median {np.median(sp):.2f} ({len(sp)} of {len(lv)} "
                  f"defined); top-k Jaccard {np.mean([x.agreement.topk_jaccard for x in lv]):.2f}; AOPC proxy "
                  f"{np.mean([x.q_proxy.aopc for x in lv]):.2f}, oracle {np.mean([x.q_oracle.aopc for x in lv]):.2f}")


if __name__ == "__main__":
    main()
