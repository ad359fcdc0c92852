"""What the apps show and write: tables, plots (matplotlib's Agg canvas, no pyplot), prompt files."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..config import TaskConfig
from ..prompt import completion_prompt
from .results import CleanReport, CompressReport, Interval


def write_prompt(path: Path, task: TaskConfig) -> Path:
    """The completion prompt of ``task`` with ``{text}`` where the input goes: a file a user can paste."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(completion_prompt(task, "{text}"), encoding="utf-8")
    return path


def _calls(oracle) -> str:
    return "" if oracle is None else f"{oracle.nominal.calls:,}"


def _usd(cost) -> str:
    """Every model's dollars (nominal: cache hits at their first price)."""
    return "" if cost is None else f"${cost.nominal.usd:.3g}"


def _iv(iv: Interval, pct: bool = True) -> str:
    f = (lambda v: f"{v:.0%}") if pct else (lambda v: f"{v:.3f}")
    return f"{f(iv.mean)} [{f(iv.low)}, {f(iv.high)}]"


def print_compress(report: CompressReport, console: Console) -> None:
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
        console.print(f"{key}: {path}")


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


def print_clean(report: CleanReport, console: Console) -> None:
    t = Table(title=f"poisoned demonstrations: {len(report.poisoned)} of {len(report.demonstrations)} labels flipped; "
                    f"removed: negative mean attribution of the gold label's probability over {report.n_validation} "
                    f"validation reviews; accuracy on {report.n_test} test reviews (random: same number removed)")
    for col in ("prompt", "removed", "prec.", "recall", "accuracy", "random", "oracle calls", "cost"):
        t.add_column(col, justify="left" if col == "prompt" else "right")
    t.add_row("clean", "", "", "", f"{report.accuracy_clean:.3f}", "", "", "")
    t.add_row("poisoned", "", "", "", f"{report.accuracy_poisoned:.3f}", "", "", "")
    for r in report.removals:
        prec = "" if r.precision is None else f"{r.precision:.2f}"
        t.add_row(r.method, ",".join(map(str, r.removed)) or "-", prec, f"{r.recall:.2f}", f"{r.accuracy:.3f}",
                  _iv(r.random, pct=False) if r.random else "", _calls(r.oracle_cost), _usd(r.cost))
    console.print(t)
    _print_checks(report.proxy_checks, console)
    for key, path in report.files.items():
        console.print(f"{key}: {path}")


def plot_compress(report: CompressReport, path: Path) -> Path:
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig).print_png(str(path))
    return path
