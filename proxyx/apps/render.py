"""What the apps show and write: tables, plots (matplotlib's Agg canvas, no pyplot), prompt files."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..config import TaskConfig
from ..output import write_figure, write_text
from ..prompt import completion_prompt
from ..view.tables import print_stopped
from .results import CleanReport, CompressReport, Interval


def prompt_path(out_dir: Path, prefix: str, method: str) -> Path:
    """Where the prompt of ``method`` (``oracle``, ``proxy:NAME``, ...) goes: ``out_dir/<prefix>.<method>.txt``."""
    return Path(out_dir) / f"{prefix}.{method.replace(':', '_').replace('/', '_')}.txt"


def write_prompt(path: Path, task: TaskConfig, *, fallback_dir: str | Path | None = None) -> Path:
    """The completion prompt of ``task`` with ``{text}`` where the input goes: a file a user can paste."""
    return write_text(path, completion_prompt(task, "{text}"), fallback_dir=fallback_dir)


def _calls(oracle) -> str:
    return "" if oracle is None else f"{oracle.nominal.calls:,}"


def _usd(cost) -> str:
    """Every model's dollars (nominal: cache hits at their first price)."""
    return "" if cost is None else f"${cost.nominal.usd:.3g}"


def _iv(iv: Interval, pct: bool = True) -> str:
    f = (lambda v: f"{v:.0%}") if pct else (lambda v: f"{v:.3f}")
    return f"{f(iv.mean)} [{f(iv.low)}, {f(iv.high)}]"


def print_compress(report: CompressReport, console: Console) -> None:
    if report.status != "complete":
        print_stopped(report.stop_reason, [f"ranking {m}" for m in report.orders], console, report.files)
        return
    t = Table(title=f"prompt compression ({_what(report)}): largest share of the "
                    f"{'inputs' if report.target == 'input' else 'prompt'} removed keeping >= {report.keep:.0%} of "
                    f"accuracy {report.base_accuracy:.3f} on {report.n_test} test reviews")
    for col in ("ranking", "removed", "accuracy", "oracle calls", "cost", "Spearman to oracle"):
        t.add_column(col, justify="left" if col == "ranking" else "right")
    for m in report.summary:
        removed = _iv(m.interval) if m.interval else f"{m.removed_fraction:.0%}"
        t.add_row(m.method, removed, "" if m.accuracy is None else f"{m.accuracy:.3f}", _calls(m.oracle_cost),
                  _usd(m.cost), "" if m.spearman_to_oracle is None else f"{m.spearman_to_oracle:.2f}")
    console.print(t)
    for name, r in report.proxy_vs_oracle.items():
        console.print(f"{name} removes {r:.1%} of what the oracle's explanations remove" if r is not None
                      else f"{name}: the oracle's explanations remove nothing, no ratio")
    _print_checks(report.proxy_checks, console)
    for key, path in report.files.items():
        console.print(f"{key}: {path}", soft_wrap=True)


def _what(report: CompressReport) -> str:
    if report.target == "input":
        return f"{report.unit}s of each test input, ranked by its own explanation"
    return f"{report.unit} units, {len(report.demonstrations)} demonstrations"


def _print_checks(checks, console: Console) -> None:
    for c in checks:
        rho = "n/a" if c.mean_spearman is None else f"{c.mean_spearman:.2f}"
        fid = "n/a" if c.mean_fidelity is None else f"{c.mean_fidelity:.2f}"
        console.print(f"screen of {c.proxy} on the validation instances: {c.decision} (n={c.n}, "
                      f"{c.disagreements} left out where its label differs), mean fidelity {fid}, "
                      f"mean Spearman rho with the oracle {rho}")


def _diff(d) -> str:
    if d.mean is None:
        return ""
    iv = "" if d.low is None else f" [{d.low:+.3f}, {d.high:+.3f}]"
    return f"{d.mean:+.3f}{iv}"


def _num(x) -> str:
    return "" if x is None else f"{x:+.4f}"


def print_clean(report: CleanReport, console: Console) -> None:
    if report.status != "complete":
        print_stopped(report.stop_reason, [f"run {x.run}" for x in report.runs], console, report.files)
        return
    cfg, runs = report.config["clean"], report.runs
    k = len(runs[0].demonstrations)
    t = Table(title=f"poisoned demonstrations: {len(runs[0].poisoned)} of {k} labels flipped, {len(runs)} runs (seeds; "
                    f"means with 95% t intervals); removed: {cfg['remove']} mean attribution of the gold label's "
                    f"probability over {runs[0].n_validation} validation reviews; accuracy on {report.n_test} test "
                    f"reviews")
    for col in ("prompt", "removed", "precision", "recall", "accuracy", "vs poisoned", "oracle calls"):
        t.add_column(col, justify="left" if col == "prompt" else "right")
    t.add_row("clean", "", "", "", _iv(report.accuracy_clean, pct=False), f"{_diff(report.damage)}", "")
    t.add_row("poisoned", "", "", "", _iv(report.accuracy_poisoned, pct=False), "", "")
    if report.accuracy_without_poisoned is not None:
        t.add_row("poisoned removed (the ideal route)", f"{len(runs[0].poisoned)}.0", "1.000", "1.000",
                  _iv(report.accuracy_without_poisoned, pct=False), "", "")
    for r in report.routes:
        t.add_row(r.method, f"{r.removed:.1f}", _iv(r.precision, pct=False) if r.precision else "n/a",
                  _iv(r.recall, pct=False), _iv(r.accuracy_after, pct=False), _diff(r.gain), f"{r.oracle_calls:,.0f}")
    console.print(t)
    d = Table(title="diagnostic: mean attribution of poisoned / clean demonstrations on the validation reviews of "
                    "their true label (same) and of the other (opposite); rank 1 = most negative")
    for col in ("route", "poisoned same", "poisoned opposite", "clean same", "clean opposite", "poisoned rank"):
        d.add_column(col, justify="left" if col == "route" else "right")
    for r in report.routes:
        g = r.diagnostic
        if g is not None:
            d.add_row(r.method, _num(g.poisoned_same), _num(g.poisoned_opposite), _num(g.clean_same),
                      _num(g.clean_opposite), "" if g.poisoned_rank is None else f"{g.poisoned_rank:.1f} of {k}")
    console.print(d)
    checks = [c for x in runs for c in x.proxy_checks]
    for name in dict.fromkeys(c.proxy for c in checks):
        mine = [c for c in checks if c.proxy == name]
        rho = [c.mean_spearman for c in mine if c.mean_spearman is not None]
        console.print(f"screen of {name} on each run's validation reviews: {', '.join(c.decision for c in mine)}; "
                      f"mean Spearman rho with the oracle {f'{sum(rho) / len(rho):.2f}' if rho else 'n/a'}")
    console.print(f"report: {report.files.get('report', '')}", soft_wrap=True)


def plot_compress(report: CompressReport, path: Path, *, fallback_dir: str | Path | None = None) -> Path:
    """Accuracy against the share of the prompt removed: a line per method, random as mean and range."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    randoms = [c for c in report.curves if c.method == "random"]
    if randoms:
        n = len(randoms[0].points)
        xs = [sum(c.points[i].removed_fraction for c in randoms) / len(randoms) for i in range(n)]
        ys = [[c.points[i].accuracy for c in randoms] for i in range(n)]
        ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], color="grey", alpha=0.25, lw=0)
        ax.plot(xs, [sum(y) / len(y) for y in ys], color="grey", lw=1.5, label=f"random ({len(randoms)} seeds)")
    for c in report.curves:
        if c.method == "random":
            continue
        wide = c.method == "oracle"  # drawn under the others, so a proxy that matches it stays visible
        line, = ax.plot([p.removed_fraction for p in c.points], [p.accuracy for p in c.points], marker="o", ms=3,
                        lw=4 if wide else 1.5, alpha=0.5 if wide else 1.0, zorder=1 if wide else 2, label=c.method)
        ax.plot([c.best.removed_fraction], [c.best.accuracy], marker="*", ms=12, color=line.get_color())
    ax.axhline(report.keep * report.base_accuracy, ls="--", color="black", lw=1,
               label=f"{report.keep:.0%} of uncompressed accuracy")
    ax.set_xlabel(f"share of the {'inputs' if report.target == 'input' else 'prompt'}'s tokens removed")
    ax.set_ylabel(f"oracle accuracy ({report.n_test} test reviews)")
    ax.set_title(f"compression: {_what(report)}")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    FigureCanvasAgg(fig)
    return write_figure(path, fig, fallback_dir=fallback_dir)
