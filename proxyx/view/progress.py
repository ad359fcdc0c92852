"""Progress that stays visible when output is not a terminal (CI logs, ``| tee``).

A terminal gets rich's live bar; anything else gets a plain line per task at
most every ``every_s`` seconds, and one when a task finishes.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .style import printable


class PlainProgress:
    """The part of ``rich.progress.Progress`` the CLI uses, as periodic plain lines."""

    def __init__(self, console: Console, every_s: float = 10.0):
        self.console = console
        self.every_s = every_s
        self._tasks: dict[int, dict] = {}
        self._started = time.monotonic()

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **fields) -> int:
        task_id = len(self._tasks)
        self._tasks[task_id] = {"description": description, "total": total, "completed": 0, "last": 0.0, **fields}
        return task_id

    def update(self, task_id: int, *, completed: float | None = None, total: float | None = None, **fields) -> None:
        t = self._tasks[task_id]
        t.update({k: v for k, v in (("completed", completed), ("total", total)) if v is not None}, **fields)
        now = time.monotonic()
        done = t["total"] is not None and t["completed"] >= t["total"]
        if now - t["last"] >= self.every_s or (done and not t.get("reported_done")):
            t["last"], t["reported_done"] = now, done
            of = f"/{t['total']:g}" if t["total"] is not None else ""
            stage = f" {t['stage']}" if t.get("stage") else ""
            self.console.print(printable(f"[{now - self._started:6.0f} s] {t['description']}: {t['completed']:g}{of}"
                                         f"{stage}"), markup=False, highlight=False)


class _Bar(Progress):
    """rich's live bar; the stage (an instance id, say) shown as plain text, control characters escaped."""

    def add_task(self, description: str, *args, **fields) -> int:
        return super().add_task(printable(description), *args, **fields)

    def update(self, task_id, **fields) -> None:
        if isinstance(fields.get("stage"), str):
            fields["stage"] = printable(fields["stage"])
        super().update(task_id, **fields)


def progress(console: Console, quiet: bool):
    """A live bar on a terminal, periodic plain lines elsewhere, nothing with ``quiet``."""
    if not quiet and not console.is_terminal:
        return PlainProgress(console)
    return _Bar(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[stage]}", markup=False), console=console, disable=quiet, transient=True)
