"""Rendering a bench: two terminal tables (fidelity, cost) and bench.md with every column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..costs import TARGET_COST_SHARE
from ..results import BenchCell, BenchReport, CellCost, FidelitySummary, SpendSplit
from ..view.tables import fitted_tables, num, pct, short, usd, whole
from .frontier_render import FRONTIER_HEADERS, frontier_rows

PUBLISHED = ("published (GPT-4o oracle, LIME/Kernel SHAP at 1000 samples): more than 90% fidelity at 11% of the "
             "oracle's cost, CRR 10.3-17")


def _fid(f: FidelitySummary | None) -> str:
    """mean ± half the 95% interval."""
    if not f or f.mean_fidelity is None:
        return "-"
    half = f"±{(f.ci95[1] - f.ci95[0]) / 2:.2f}" if f.ci95 else ""
    return f"{f.mean_fidelity:.2f}{half}"


def _split(cost: CellCost, key: str, fmt: Callable[[float], str]) -> str:
    """explanation / screening / evaluation: the oracle's calls and tokens, every model's dollars."""
    def part(p) -> float:
        spend = (p.total if key == "usd" else p.oracle) if isinstance(p, SpendSplit) else p
        return getattr(spend, key)
    return "/".join(fmt(part(p)) for p in (cost.explanation, cost.screening, cost.evaluation))


def _only(c: BenchCell, key: str) -> float | None:
    return getattr(c.proxy_only.fidelity, key) if c.proxy_only.fidelity else None


KEY = ("proxy", "explainer", "samples")

#: (Markdown header, terminal table or None, terminal header, cell -> text); the key columns start both tables
COLUMNS: list[tuple[str, str | None, str, Callable[[BenchCell], str]]] = [
    ("proxy", "both", "proxy", lambda c: c.proxy),
    ("explainer", "both", "explainer", lambda c: c.method),
    ("samples", "both", "samples", lambda c: str(c.samples)),
    ("screen", "fidelity", "screen", lambda c: f"{c.screen.decision.split('_')[0]}, n={c.screen.n}"),
    ("gate agrees", "fidelity", "gate agrees", lambda c: f"{100 * c.gate_agreement:.0f}%"),
    ("fidelity, pipeline (± 95% CI)", "fidelity", "pipeline",
     lambda c: _fid(c.pipeline.fidelity) + (" *" if c.pipeline.pareto else "")),
    ("fidelity, proxy only (± 95% CI)", "fidelity", "proxy only", lambda c: _fid(c.proxy_only.fidelity)),
    ("mean q proxy / mean q oracle, proxy only", "fidelity", "q ratio", lambda c: num(_only(c, "ratio_of_means"))),
    ("Spearman", "fidelity", "Spearman", lambda c: num(_only(c, "mean_spearman"))),
    ("top-k Jaccard", "fidelity", "top-k J.", lambda c: num(_only(c, "mean_topk_jaccard"))),
    ("q / q oracle at top budget", None, "", lambda c: num(c.pipeline.q_vs_top_budget_oracle)),
    ("oracle calls expl/screen/eval", "cost", "oracle calls expl/screen/eval", lambda c: _split(c.cost, "calls", short)),
    ("oracle tokens expl/screen/eval", None, "", lambda c: _split(c.cost, "tokens", short)),
    ("$ expl/screen/eval", None, "", lambda c: _split(c.cost, "usd", usd)),
    ("$ / expl.", "cost", "$ / expl.", lambda c: usd(c.pipeline.usd_per_explanation)),
    ("% of oracle $", "cost", "of oracle $", lambda c: pct(c.pipeline.cost_share_usd)),
    ("CRR $ (calls)", "cost", "CRR $ (calls)",
     lambda c: f"{num(c.pipeline.crr.usd, '.1f')} ({num(c.pipeline.crr.calls, '.1f')})"),
    ("CRR $ excl. screen", None, "", lambda c: num(c.pipeline.crr_excl_screen.usd, ".1f")),
    ("% of oracle $ excl. screen", None, "", lambda c: pct(c.pipeline.cost_share_usd_excl_screen)),
    (f"instances to reach {100 * TARGET_COST_SHARE:.0f}% of oracle $", None, "",
     lambda c: whole(c.pipeline.instances_to_target)),
    ("% of oracle $ at 300 / 3,000 instances", None, "",
     lambda c: " / ".join(pct((c.pipeline.cost_share_usd_projected or {}).get(k)) for k in ("300", "3000"))),
    ("expl./h pipeline vs oracle", "cost", "expl./h pipeline / oracle",
     lambda c: f"{short(c.throughput_per_hour.pipeline)} / {short(c.throughput_per_hour.oracle_alone)}"),
    ("expl./h proxy only", None, "", lambda c: short(c.throughput_per_hour.proxy_only)),
    ("wall", "cost", "wall", lambda c: f"{c.run.wall_time_s:.0f} s"),
]


def _rows(report: BenchReport, table: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the Markdown table (``table=None``) or of terminal table ``table``."""
    cols = [(md, f) for md, t, _, f in COLUMNS] if table is None else \
        [(term, f) for _, t, term, f in COLUMNS if t in ("both", table)]

    def row(c: BenchCell) -> list[str]:
        if c.pipeline is None:  # nothing finished in this cell
            return [c.proxy, c.method, str(c.samples), c.status] + ["-"] * (len(cols) - 4)
        return [f(c) for _, f in cols]

    return [h for h, _ in cols], [row(c) for c in report.cells]


def _data(report: BenchReport) -> str:
    return report.config["dataset"]["name"] or report.config["dataset"]["path"]


def bench_tables(report: BenchReport, width: int = 80) -> list[Table]:
    """Fidelity then cost, each split into parts that fit ``width`` (bench.md has every column in one table)."""
    titles = {"fidelity": f"proxyx bench: fidelity (oracle {report.oracle}, {report.instances} instances of {_data(report)})",
              "cost": "proxyx bench: cost (nominal; screening included)"}
    captions = {"fidelity": "fidelity: mean ± 95% CI; * Pareto front ($ per explanation vs pipeline fidelity)",
                "cost": "expl./h from model time; bench.md has tokens, $ by part and more"}
    tables = []
    for name in ("fidelity", "cost"):
        headers, rows = _rows(report, name)
        if name == "fidelity":
            for row in rows:
                row[3] = f"[{'green' if row[3].startswith('accepted') else 'red'}]{row[3]}[/]"
        tables += fitted_tables(titles[name], captions[name], headers, rows, width, keys=len(KEY),
                                left=len(KEY) - 1)
    return tables


def frontier_tables(report: BenchReport, width: int = 80) -> list[Table]:
    """The frontier grid, one table per explainer: every route against the oracle's top budget and the oracle
    alone at the same spend."""
    keep = (1, 2, 3, 5, 6, 7, 11, 12)
    rows = frontier_rows(report.frontier.summaries)
    tables = []
    for method in dict.fromkeys(row[0] for row in rows):
        tables += fitted_tables(f"proxyx bench: {method}, quality against oracle spend (oracle {report.oracle}, "
                                f"{report.instances} instances)",
                                "ratios: mean quality / the oracle's at the top budget (paired bootstrap 95% CI); "
                                "vs oracle alone: mean paired difference (Student t 95% CI); bench.md has every column",
                                [FRONTIER_HEADERS[i] for i in keep],
                                [[row[i] for i in keep] for row in rows if row[0] == method], width, keys=3, left=2)
    return tables


def print_bench(report: BenchReport, console: Console, out_dir: Path | None = None) -> None:
    for table in bench_tables(report, console.width) if report.cells else ():
        console.print(table)
    if report.frontier is not None:
        for table in frontier_tables(report, console.width):
            console.print(table)
        for line in report.frontier.headline:
            console.print(f"[bold]frontier[/] {line}", highlight=False)
    for h in report.headline:
        console.print(f"[bold]headline[/] {h.text}", highlight=False)
        if h.best_proxy_alone:
            console.print(f"         {h.best_proxy_alone.text}", highlight=False)
    r = report.run
    console.print(f"this run: {r.paid.calls} calls paid, {r.cache_hits} cache hits, {usd(r.paid.usd)}, "
                  f"{r.wall_time_s:.1f} s", highlight=False)
    if report.status != "complete":
        console.print(f"[bold red]{report.status}[/]: {report.stop_reason or 'see failed cells'}")
    if out_dir is not None:
        console.print(f"bench: {Path(out_dir) / 'bench.json'}, bench.md, fidelity_vs_cost.png", soft_wrap=True)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _frontier_markdown(report: BenchReport) -> list[str]:
    f = report.frontier
    if f is None:
        return []
    t = f.target
    return [
        "## Frontier: quality against oracle spend\n",
        *[f"- {line}" for line in f.headline],
        f"- Target: at least {t.quality:.2f} of the oracle's top-budget {t.metric.replace('_', ' ')} at no more than "
        f"{100 * t.share:.0f}% of its calls and dollars, strictly above the oracle alone at the same spend "
        "(the paired interval's lower bound above 0).",
        *([f"- Left out (calls failed): {', '.join(f.failed)}"] if f.failed else []),
        "",
        _md_table(FRONTIER_HEADERS, frontier_rows(f.summaries)) + "\n",
        "Routes: *oracle* = the oracle alone at `oracle n` samples (the frontier; its top budget is the reference); "
        "*substitute* = the proxy's explanation at `proxy N` samples (one oracle call for the label); *prior*, "
        "*control_variate*, *regression_adjusted* = proxy-informed estimators with the oracle at n and the proxy at N "
        "(README \"Proxy-informed estimators\"); *shap_kernel*, *shap_partition*, *lime* = the peers, shap's and lime's "
        "own explainers on the oracle at n rows over the same units (`proxyx.bench.peers`). Quality on the oracle: AOPC of deletion and local fidelity "
        "(kernel-weighted R² of the explanation's surrogate against the oracle on held-out masks). *paired with*: "
        "the oracle-alone budget with the same oracle calls (else the cheapest that spends at least as much). "
        "Costs nominal; calls count the oracle, $ every model.\n",
    ]


def bench_markdown(report: BenchReport) -> str:
    cfg = report.config
    if not report.cells:  # a frontier only
        return "\n".join([
            "# proxyx bench: quality against oracle spend\n",
            f"Oracle `{report.oracle}`; proxies {', '.join(f'`{p}`' for p in report.proxies)}; data set "
            f"`{_data(report)}` ({cfg['dataset']['split']} split, {report.instances} instances explained). "
            f"Status: {report.status}; created {report.created}; proxyx {report.versions['proxyx']}.\n",
            *[f"Note: {n}\n" for n in report.notes], *_frontier_markdown(report)])
    s = cfg["screen"]
    refs = [[r.method, str(r.samples), str(r.instances), whole(r.cost.calls_per_explanation),
             usd(r.cost.usd_per_explanation), whole(r.throughput_per_hour), num(r.mean_q_oracle, ".3f"),
             str(r.q_oracle_undefined)] for r in report.references]
    headers, rows = _rows(report)
    target = f"{100 * TARGET_COST_SHARE:.0f}%"
    parts = [
        "# proxyx bench: fidelity against cost\n",
        f"Oracle `{report.oracle}`; proxies {', '.join(f'`{p}`' for p in report.proxies)}; data set "
        f"`{_data(report)}` ({cfg['dataset']['split']} split, {report.instances} instances "
        f"explained; screening on the {cfg['dataset']['screen_split']} split, tau={s['tau']}, confidence={s['confidence']}, "
        f"{s['min_instances']}-{s['max_instances']} instances). Status: {report.status}; created {report.created}; "
        f"proxyx {report.versions['proxyx']}.\n",
        *[f"Note: {n}\n" for n in report.notes],
        *_frontier_markdown(report),
        "## Headline\n" if report.cells else "",
        *[f"- {h.text}" + (f"; {h.best_proxy_alone.text}" if h.best_proxy_alone else "") for h in report.headline],
        f"- {PUBLISHED}\n",
        "## Grid\n",
        _md_table(headers, rows) + "\n",
        "## The oracle alone (the reference)\n",
        _md_table(["explainer", "samples", "instances", "oracle calls / expl.", "$ / expl.", "expl./h", "mean q (AOPC)",
                   "q undefined"], refs) + "\n",
        "## Reading the table\n",
        "- *fidelity* = q(explanation) / q(the oracle's own explanation at the same explainer, budget and masks), "
        "q = AOPC of deleting the top-ranked words, measured on the oracle; mean over instances where it is defined, "
        "95% CI = mean ± t(0.975, n - 1) s/√n (Student t). A ratio per instance is heavy-tailed where q_oracle is small; "
        "*mean q proxy / mean q oracle* (the ratio of means) is steadier, and is what the screen tests "
        "(mean d > 0 means mean q_proxy > tau · mean q_oracle).",
        "- *pipeline* (screen-and-apply): the proxy's explanation where the screen accepted the proxy and its label "
        "agrees with the oracle's, else the oracle's (fidelity 1). *proxy only*: the proxy's explanation on every "
        "instance where the labels agree, whatever the screen said. \\* marks the Pareto front (pipeline).",
        "- *q / q oracle at top budget*: mean pipeline quality over the mean quality of the oracle's own explanations "
        "at the explainer's largest budget (compares budgets; fidelity does not).",
        "- Costs are nominal (cache hits at the price first paid). Oracle calls and tokens: explanation (gate, proxy "
        "and fallback explanations) / screening / evaluation (the oracle's reference explanations and quality scoring, "
        "which only a benchmark pays). *$ / expl.* and *% of oracle $*: explanation plus screening, every model. "
        "CRR = all-oracle cost / (proxy + fallback + screening): calls count the oracle, $ every model.",
        f"- The screen is paid once per task, so its share falls with the number of instances explained: "
        f"*instances to reach {target} of oracle $* is how many it takes for the pipeline's "
        f"cost share, screening included, to reach the published {target} (- where the share "
        "without the screen is already above it).",
        "- *expl./h*: explanations per hour from the model time the answers took when paid (kept in the cache), "
        "pipeline without screening vs the oracle alone; *proxy only*: the proxy wherever the gate agrees, the "
        "oracle elsewhere.",
        "",
    ]
    return "\n".join(parts)
