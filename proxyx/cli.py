"""proxyx command line: parse, build a config, call the library, render.

Exit codes: 0 all done; 1 unexpected internal error; 2 bad input (config,
data, unknown model); 3 done, but some instances failed; 4 stopped at the
budget cap (the report holds everything that finished); 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .config import Config, apply_overrides, load_config
from .errors import EXIT_BUDGET, EXIT_FAILURES, EXIT_OK, DataError, ProxyxError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Explain expensive LLMs cheaply: screened proxy models, fidelity against cost.")
console = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="YAML config, e.g. configs/quickstart.yaml", show_default=False)]
OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="where to write the JSON (default: config 'output')")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="explain at most N instances (overrides dataset.limit)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log model calls and retries")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@contextmanager
def _user_errors():
    """One line, a documented exit code, no traceback."""
    try:
        yield
    except ProxyxError as e:
        console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        console.print("interrupted: every paid call is cached; run the same command again to resume")
        raise typer.Exit(130) from None


def _config(path: Path, **overrides) -> Config:
    return apply_overrides(load_config(path), **overrides)


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[stage]}"), console=console, disable=quiet, transient=True)


@app.command()
def explain(config: ConfigArg, limit: LimitOpt = None, out: OutOpt = None,
            screen: Annotated[Optional[Path], typer.Option(help="use this screening result (from 'proxyx screen')")] = None,
            quiet: QuietOpt = False) -> None:
    """Explain the oracle's predictions, with screened proxies answering the perturbations."""
    from .pipeline import run_explain
    from .report import explain_document, print_explain, write_json
    from .screen import ScreenReport

    with _user_errors():
        cfg = _config(config, **{"dataset.limit": limit})
        screened = None
        if screen is not None:
            if not screen.is_file():
                raise DataError(f"screening result {str(screen)!r} does not exist; write one with 'proxyx screen CONFIG --out FILE'")
            try:
                screened = ScreenReport.from_dict(json.loads(screen.read_text()))
            except json.JSONDecodeError:
                raise DataError(f"{screen} is not JSON; pass the file written by 'proxyx screen'") from None
        with _progress(quiet) as bar:
            task = bar.add_task("explaining", total=None, stage="")
            result = run_explain(cfg, screen=screened, on_instance=lambda i, n, e, s: bar.update(task, completed=i, total=n, stage=s))
        doc = explain_document(result)
        path = write_json(out or cfg.output, doc)
        print_explain(doc, Console(), path)
        raise typer.Exit({"complete": EXIT_OK, "complete_with_failures": EXIT_FAILURES, "stopped_budget": EXIT_BUDGET}[result.status])


@app.command()
def screen(config: ConfigArg, out: OutOpt = None,
           all_proxies: Annotated[bool, typer.Option("--all", help="screen every proxy, not only up to the first accepted")] = False,
           quiet: QuietOpt = False) -> None:
    """Decide, with a sequential test, which proxies may stand in for the oracle."""
    from .report import print_screen, write_json
    from .screen import run_screen
    from .session import load_instances, open_session

    with _user_errors():
        cfg = _config(config)
        if not cfg.proxies:
            raise DataError(f"{config}: 'proxies' is empty; name at least one proxy model to screen")
        session = open_session(cfg)
        exclude = {x.id for x in load_instances(cfg)} if cfg.dataset.screen_split == cfg.dataset.split or cfg.dataset.path else set()
        with _progress(quiet) as bar:
            task = bar.add_task("screening", total=None, stage="")
            report = run_screen(session, screen_all=all_proxies or None, exclude_ids=exclude,
                                on_step=lambda p: bar.update(task, completed=p.n, total=cfg.screen.max_instances,
                                                             stage=f"{p.proxy}: n={p.n} mean d={p.mean_d if p.mean_d is None else round(p.mean_d, 4)}"))
        session.close()
        path = write_json(out or Path(cfg.output).with_name(Path(cfg.output).stem + ".screen.json"), report.to_dict())
        print_screen(report, Console())
        Console().print(f"screening result: {path}")
        raise typer.Exit(EXIT_BUDGET if report.stopped == "budget" else EXIT_OK)


@app.command()
def bench(config: ConfigArg,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="directory for bench.json, bench.md and "
                                                      "fidelity_vs_cost.png (default: config 'output' without .json)")] = None,
          limit: LimitOpt = None, quiet: QuietOpt = False) -> None:
    """Fidelity against cost over the proxies x explainers x sample budgets of the config's 'bench' block."""
    from .bench import print_bench, run_bench

    with _user_errors():
        cfg = _config(config, **{"dataset.limit": limit})
        out_dir = out or Path(cfg.output).with_suffix("")
        with _progress(quiet) as bar:
            cells: dict[str, int] = {}

            def progress(label: str, done: int, total: int, stage: str) -> None:
                if label not in cells:
                    cells[label] = bar.add_task(label, total=total, stage="")
                bar.update(cells[label], completed=done, total=total, stage=stage)

            doc = run_bench(cfg, out_dir=out_dir, on_progress=progress)
        print_bench(doc, Console(), out_dir)
        raise typer.Exit({"complete": EXIT_OK, "complete_with_failures": EXIT_FAILURES, "stopped_budget": EXIT_BUDGET}[doc["status"]])


@app.command("fetch-data")
def fetch_data(deb: Annotated[Optional[Path], typer.Option(help="use this r-cran-modeldata .deb instead of apt-get download")] = None,
               force: bool = False) -> None:
    """Install the built-in fine_foods data set (idempotent)."""
    from .data import fetch_fine_foods

    with _user_errors():
        path = fetch_fine_foods(deb=deb, force=force)
        Console().print(f"fine_foods: {path}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
