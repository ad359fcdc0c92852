"""proxyx command line: parse, build a config, call the library, render.

Exit codes: 0 all done; 1 unexpected internal error; 2 bad input (config,
data, unknown model); 3 done, but some instances failed; 4 stopped at the
budget cap (the report holds everything that finished); 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from .adaptive import refuse_auto
from .config import Config, apply_overrides, load_config
from .engine import refuse_cluster
from .errors import EXIT_BUDGET, EXIT_FAILURES, EXIT_OK, ProxyxError, redact
from .tasks import task_for
from .view.progress import progress
from .view.style import printable

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Explain expensive LLMs cheaply: screened proxy models, fidelity against cost.")
console = Console(stderr=True, emoji=False)  # a model named python:pkg:boom is not an emoji

ConfigArg = Annotated[Path, typer.Argument(help="YAML config, e.g. configs/quickstart.yaml", show_default=False)]
OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="where to write the JSON (default: config 'output')")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="explain at most N instances (overrides dataset.limit)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
EngineOpt = Annotated[Optional[str], typer.Option(help="local (this process) or ray (engine block; overrides engine.kind)")]
WorkersOpt = Annotated[Optional[int], typer.Option(min=1, help="Ray workers (overrides engine.workers)")]

EXIT_BY_STATUS = {"complete": EXIT_OK, "complete_with_failures": EXIT_FAILURES, "stopped_budget": EXIT_BUDGET}


class _SafeFormatter(logging.Formatter):
    """Log lines with credentials redacted and control characters escaped (a record may quote data)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(redact(super().format(record)), lines=True)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log model calls and retries")] = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


@contextmanager
def _user_errors():
    """One line, a documented exit code, no traceback."""
    try:
        yield
    except ProxyxError as e:
        console.print(Text("error:", style="bold red") + Text(" " + printable(redact(str(e)))), highlight=False,
                      soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        console.print("interrupted: every paid call is cached; run the same command again to resume")
        raise typer.Exit(130) from None


def _config(path: Path, *, engine: bool = False, **overrides) -> Config:
    """The config with the command line's overrides; ``engine``: the command takes a Ray engine (explain, bench and
    influence; the screen, which is sequential, runs in the driver as theirs does)."""
    cfg = apply_overrides(load_config(path), **overrides)
    if not engine:  # explain and screen take adaptive budgets; the apps fix theirs (the bench refuses them itself)
        refuse_auto(cfg, "this command")
        refuse_cluster(cfg)
    return cfg


def _out() -> Console:
    """Where results are printed (stdout)."""
    return Console(emoji=False)


def _checked(cfg: Config, config: Path, targets: list[tuple[Path, str]],
             *inputs: tuple[Path | None, str]) -> list[Path]:
    """The command's artefacts, checked before anything is paid (``proxyx.output.check_outputs``): none is the
    config file, another input of the run, or another artefact."""
    from .output import check_outputs, run_inputs

    return check_outputs(targets, run_inputs(cfg, (config, "the config file"), *inputs))


def _progress(quiet: bool):
    return progress(console, quiet)


@contextmanager
def _stages(quiet: bool, name: str):
    """One progress bar for a command's stages: yields ``on_progress(stage, done, total)``."""
    with _progress(quiet) as bar:
        task = bar.add_task(name, total=None, stage="")
        yield lambda stage, done, total: bar.update(task, completed=done, total=total, stage=stage)


def _screen_file(screen: Path | None, config: Path):
    """The screening result of ``explain --screen``, or None."""
    from .results import ScreenResult

    if screen is None:
        return None
    return ScreenResult.load(screen, what="screening result (--screen)",
                             hint=f"write one with 'proxyx screen {config} --out FILE'")


def _page(report, path: Path, fallback_dir: str) -> None:
    """Write the report's HTML page next to its JSON and say where."""
    from .view.html import write_html

    _out().print(f"page: {write_html(report, path.with_suffix('.html'), fallback_dir=fallback_dir)}", markup=False,
                 highlight=False, soft_wrap=True)


@app.command()
def explain(config: ConfigArg, limit: LimitOpt = None, out: OutOpt = None,
            screen: Annotated[Optional[Path], typer.Option(help="use this screening result (from 'proxyx screen')")] = None,
            html: Annotated[bool, typer.Option("--html/--no-html", help="also write the HTML page next to the JSON")] = True,
            show: Annotated[int, typer.Option("--show", min=0, help="heatmaps of the first N instances in the terminal")] = 1,
            engine: EngineOpt = None, workers: WorkersOpt = None, quiet: QuietOpt = False) -> None:
    """Explain the oracle's predictions, with proxies answering or sharpening the perturbations."""
    with _user_errors():
        cfg = _config(config, engine=True, **{"dataset.limit": limit, "engine.kind": engine, "engine.workers": workers})
        task = task_for(cfg)  # the config's kind (proxyx.tasks) runs the command and prints its report
        report_path = Path(out or cfg.output)
        pages = [(report_path.with_suffix(".html"), "the HTML page; --no-html writes none")] if html else []
        target = _checked(cfg, config, [(report_path, "the report"), *pages],
                          (screen, "the screening result (--screen)"))[0]
        screened = _screen_file(screen, config)
        with _stages(quiet, "explaining") as on_progress:
            report = task.explain(screen=screened, on_instance=lambda i, n, e, s: on_progress(s, i, n))
        path = report.save(target, fallback_dir=cfg.cache_dir)
        task.print_explain(report, _out(), path, heatmaps=show)
        if html:
            _page(report, path, cfg.cache_dir)
        raise typer.Exit(EXIT_BY_STATUS[report.status])


@app.command()
def screen(config: ConfigArg, out: OutOpt = None,
           all_proxies: Annotated[bool, typer.Option("--all", help="screen every proxy, not only up to the first accepted")] = False,
           quiet: QuietOpt = False) -> None:
    """Decide, with a sequential test, which proxies may stand in for the oracle."""
    from .view.tables import print_screen

    with _user_errors():
        cfg = _config(config, engine=True)
        default = Path(cfg.output).with_name(Path(cfg.output).stem + ".screen.json")
        target = _checked(cfg, config, [(out or default, "the screening result")])[0]
        with _progress(quiet) as bar:
            task = bar.add_task("screening", total=None, stage="")

            def on_step(p) -> None:
                bar.update(task, completed=p.n, total=cfg.screen.max_instances,
                           stage=f"{p.proxy}: n={p.n} mean d={p.mean_d if p.mean_d is None else round(p.mean_d, 4)}")

            result = task_for(cfg).screen(screen_all=all_proxies or None, on_step=on_step)
        path = result.save(target, fallback_dir=cfg.cache_dir)
        print_screen(result, _out())
        _out().print(f"screening result: {path}", markup=False, highlight=False, soft_wrap=True)
        failed = any(p.decision == "failed" for p in result.proxies)
        raise typer.Exit(EXIT_BUDGET if result.stopped == "budget" else EXIT_FAILURES if failed else EXIT_OK)


@app.command()
def bench(config: ConfigArg,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="directory for bench.json, bench.md and "
                                                      "fidelity_vs_cost.png (default: config 'output' without .json)")] = None,
          limit: LimitOpt = None, engine: EngineOpt = None, workers: WorkersOpt = None, quiet: QuietOpt = False) -> None:
    """Quality against cost: the oracle-alone frontier, the estimators and the screen-and-apply grid ('bench' block)."""
    from .bench.render import print_bench
    from .bench.run import bench_files

    with _user_errors():
        cfg = _config(config, engine=True, **{"dataset.limit": limit, "engine.kind": engine, "engine.workers": workers})
        task = task_for(cfg)
        out_dir = out or Path(cfg.output).with_suffix("")
        _checked(cfg, config, bench_files(out_dir))
        with _progress(quiet) as bar:
            cells: dict[str, int] = {}

            def progress(label: str, done: int, total: int, stage: str) -> None:
                if label not in cells:
                    cells[label] = bar.add_task(label, total=total, stage="")
                bar.update(cells[label], completed=done, total=total, stage=stage)

            report = task.bench(out_dir=out_dir, on_progress=progress)
        print_bench(report, _out(), out_dir)
        raise typer.Exit(EXIT_BY_STATUS[report.status])


@app.command()
def show(report: Annotated[Path, typer.Argument(help="a report from 'proxyx explain' or bench.json", show_default=False)],
         html: Annotated[Optional[Path], typer.Option("--html", help="write one self-contained HTML page here instead")] = None,
         limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="show at most N instances")] = None,
         ids: Annotated[Optional[list[str]], typer.Option("--id", help="show this instance (repeatable)")] = None) -> None:
    """See the explanations: words coloured by attribution (red towards the oracle's label, blue against)."""
    from .output import Input, check_outputs
    from .view.heatmap import render_terminal
    from .view.html import write_html

    with _user_errors():
        if html is not None:
            check_outputs([(html, "the HTML page")], [Input(report, "the report shown")])
            _out().print(f"page: {write_html(report, html, ids=ids, limit=limit)}", markup=False, highlight=False,
                         soft_wrap=True)
        else:
            render_terminal(report, _out(), ids=ids, limit=limit)


@app.command("fetch-data")
def fetch_data(deb: Annotated[Optional[Path], typer.Option(help="use this r-cran-modeldata .deb instead of apt-get download")] = None,
               faq_deb: Annotated[Optional[Path], typer.Option(help="use this debian-faq .deb instead of apt-get download")] = None,
               wordnet_deb: Annotated[Optional[Path], typer.Option(help="use this wordnet-base .deb instead of apt-get download")] = None,
               force: bool = False) -> None:
    """Install the built-in data sets, fine_foods and debian_faq (idempotent)."""
    from .data import fetch_fine_foods
    from .datasets import fetch_faq

    with _user_errors():
        path = fetch_fine_foods(deb=deb, force=force)
        _out().print(f"fine_foods: {path}", soft_wrap=True)
        _out().print(f"debian_faq: {fetch_faq(deb=faq_deb, force=force)}")
        from .influence.queries import fetch_wordnet

        _out().print(f"wordnet: {fetch_wordnet(deb=wordnet_deb, force=force)}")


@app.command()
def compress(config: ConfigArg, quiet: QuietOpt = False,
             out: Annotated[Optional[Path], typer.Option("--out", "-o", help="directory for compress.json, compress.png "
                                                         "and the prompt files (default: config 'output' without .json)")] = None) -> None:
    """Remove a many-shot prompt's units from least to most important: how much can go at >= 90% accuracy."""
    from .apps import print_compress, run_compress
    from .apps.compress import compress_files

    with _user_errors():
        cfg = _config(config)
        out_dir = out or Path(cfg.output).with_suffix("")
        _checked(cfg, config, compress_files(cfg, out_dir))
        with _stages(quiet, "compress") as on_progress:
            report = run_compress(cfg, out_dir=out_dir, on_progress=on_progress)
        print_compress(report, _out())
        raise typer.Exit(EXIT_BY_STATUS[report.status])


@app.command()
def clean(config: ConfigArg, quiet: QuietOpt = False,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="directory for clean.json and the cleaned "
                                                      "prompts (default: config 'output' without .json)")] = None) -> None:
    """Find demonstrations with flipped labels by gold-label attribution, remove them, measure accuracy."""
    from .apps import print_clean, run_clean
    from .apps.clean import clean_files

    with _user_errors():
        cfg = _config(config)
        out_dir = out or Path(cfg.output).with_suffix("")
        _checked(cfg, config, clean_files(cfg, out_dir))
        with _stages(quiet, "clean") as on_progress:
            report = run_clean(cfg, out_dir=out_dir, on_progress=on_progress)
        print_clean(report, _out())
        raise typer.Exit(EXIT_BY_STATUS[report.status])


@app.command()
def rerank(config: ConfigArg, out: OutOpt = None, quiet: QuietOpt = False) -> None:
    """Rerank BM25's passages by exact Shapley values of the oracle's answer; recall of the gold passage."""
    from .apps.rerank import run_rerank
    from .apps.rerank_render import print_rerank

    with _user_errors():
        cfg = _config(config)
        target = _checked(cfg, config, [(out or Path(cfg.output), "the rerank report")])[0]
        with _stages(quiet, "rerank") as on_progress:
            report = run_rerank(cfg, out=target, on_progress=on_progress)
        print_rerank(report, _out())
        raise typer.Exit(EXIT_BY_STATUS[report.status])


@app.command()
def influence(config: ConfigArg, out: OutOpt = None, quiet: QuietOpt = False,
              text: Annotated[Optional[str], typer.Option("--text", help="list the training examples closest to this text")] = None,
              label: Annotated[Optional[str], typer.Option("--label", help="the text's label (default: the oracle's prediction)")] = None,
              engine: EngineOpt = None, workers: WorkersOpt = None) -> None:
    """Which training examples made the model say this? Gradient attribution, and its retrieval benchmark."""
    from .influence import run_influence_bench, run_influence_lookup
    from .influence.render import print_bench, print_lookup

    with _user_errors():
        cfg = _config(config, engine=True, **{"engine.kind": engine, "engine.workers": workers})
        refuse_auto(cfg, "this command")
        if text is not None and cfg.engine.kind != "local" and not quiet:
            console.print("--text: the lookup runs in this process (engine.kind: ray shards the benchmark's sources)")
        default = Path(cfg.output) if text is None else Path(cfg.output).with_suffix(".lookup.json")
        target = _checked(cfg, config, [(out or default, "the influence report")])[0]
        with _stages(quiet, "influence") as on_progress:
            if text is None:
                report = run_influence_bench(cfg, on_progress=on_progress)
            else:
                report = run_influence_lookup(cfg, text, label=label,
                                              on_progress=lambda done, total: on_progress("gradients", done, total))
        path = report.save(target, fallback_dir=cfg.cache_dir)
        (print_bench if text is None else print_lookup)(report, _out(), path)
        raise typer.Exit(EXIT_BY_STATUS[report.status])


def main() -> None:  # pragma: no cover
    sys.exit(app())
