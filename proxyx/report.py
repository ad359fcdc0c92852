"""Reports: versioned JSON documents and rich tables.

Schema ``proxyx.report/1`` (explain), documented in docs/report-schema.md.
Reports hold the config (which names API-key *variables*, never keys).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import __version__
from .pipeline import ExplainResult, crr, fidelity_summary
from .screen import ScreenReport

REPORT_SCHEMA = "proxyx.report/1"


def versions() -> dict:
    out = {"proxyx": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scikit-learn", "shap", "litellm", "llama_cpp_python", "vaderSentiment"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_json(path: str | Path, doc: dict) -> Path:
    """Write atomically (temp file + rename): a killed run never leaves half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
    os.replace(tmp, path)
    return path


def explain_document(result: ExplainResult) -> dict:
    cfg = result.config
    done = [e for e in result.instances if e.get("status") == "ok"]
    return {
        "schema": REPORT_SCHEMA,
        "command": "explain",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": result.status,
        "stop_reason": result.stop_reason,
        "seed": cfg.seed,
        "versions": versions(),
        "config": cfg.model_dump(mode="json"),
        "screen": result.screen.to_dict() if result.screen else None,
        "summary": {
            "instances": len(result.instances),
            "explained": len(done),
            "failed": sum(e.get("status") == "failed" for e in result.instances),
            "explained_by": dict(Counter(e["explained_by"] for e in done)),
            "wall_time_s": result.wall_time_s,
            "flags": result.flags,
        },
        "fidelity": fidelity_summary(done),
        "crr": crr(done, result.screen, cfg.oracle.name),
        "ledger": result.ledger_rows,
        "instances": result.instances,
    }


# ----------------------------------------------------------------------------- tables


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:.4f}" if x >= 0.01 else f"${x:.6f}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def ledger_table(rows: list[dict], title: str = "Cost by model") -> Table:
    t = Table(title=title)
    failures = any(r["failures"] for r in rows)
    t.add_column("model", no_wrap=True)
    t.add_column("role / purpose", no_wrap=True)
    for col in ("calls", "hits", "tokens", "paid $") + (("failed",) if failures else ()):
        t.add_column(col, justify="right")
    for r in rows:
        cells = [r["model"], f"{r['role']} / {r['purpose']}", str(r["calls"]), str(r["hits"]),
                 str(r["prompt_tokens"] + r["completion_tokens"]), _usd(r["usd"])]
        t.add_row(*cells, *([str(r["failures"])] if failures else []))
    return t


def print_explain(doc: dict, console: Console, path: Path | None = None) -> None:
    s = doc["summary"]
    t = Table(title="proxyx explain")
    t.add_column("")
    t.add_column("", justify="right")
    t.add_row("instances", f"{s['explained']} explained, {s['failed']} failed, of {s['instances']}")
    for name, n in sorted(s["explained_by"].items()):
        t.add_row(f"  explained by {name}", str(n))
    if doc.get("screen"):
        for p in doc["screen"]["proxies"]:
            fid = "" if p["mean_fidelity"] is None else f", fidelity {p['mean_fidelity']:.2f}"
            t.add_row(f"  screen: {p['proxy']}", f"{p['decision']} (n={p['n']}{fid})")
    c = doc["crr"] or {}
    if c:
        est = " (all-oracle cost estimated)" if c["all_oracle"]["estimated"] else ""
        t.add_row("cost reduction (CRR)", f"{_num(c['calls'], '.1f')}x calls, {_num(c['tokens'], '.1f')}x tokens, "
                  f"{_num(c['usd'], '.1f')}x $" + est)
        t.add_row("cost with proxies vs all-oracle", f"{_usd(c['with_proxies']['usd'])} vs {_usd(c['all_oracle']['usd'])}")
    f = doc.get("fidelity")
    if f:
        t.add_row("mean fidelity", f"{_num(f['mean_fidelity'], '.3f')} over {f['n'] - f['undefined']} "
                  f"(+{f['undefined']} undefined), Spearman {_num(f['mean_spearman'], '.2f')}")
    paid = sum(r["usd"] for r in doc["ledger"])
    hits = sum(r["hits"] for r in doc["ledger"])
    calls = sum(r["calls"] for r in doc["ledger"])
    t.add_row("this run", f"{calls} calls paid, {hits} cache hits, {_usd(paid)}")
    t.add_row("wall time", f"{s['wall_time_s']:.1f} s")
    if doc["status"] != "complete":
        t.add_row("status", f"[bold red]{doc['status']}[/]: {doc.get('stop_reason') or 'see failed instances'}")
    console.print(t)
    console.print(ledger_table(doc["ledger"]))
    if path:
        console.print(f"report: {path}")


def print_screen(report: ScreenReport, console: Console) -> None:
    t = Table(title=f"proxyx screen (tau={report.config['screen']['tau']}, confidence={report.config['screen']['confidence']})")
    t.add_column("proxy", no_wrap=True)
    t.add_column("decision", no_wrap=True)
    for col in ("n", "examined", "mean d", "bound (lo, hi)", "fidelity", "Spearman", "top-k J", "calls", "tokens", "$"):
        t.add_column(col, justify="right")
    for p in report.proxies:
        calls = sum(v["nominal_calls"] for v in p.cost.values())
        tokens = sum(v["nominal_tokens"] for v in p.cost.values())
        usd = sum(v["nominal_usd"] for v in p.cost.values())
        color = "green" if p.accepted else "red"
        t.add_row(p.proxy, f"[{color}]{p.decision}[/]", str(p.n), str(p.examined), _num(p.mean_d, ".4f"),
                  f"({_num(p.lower, '.4f')}, {_num(p.upper, '.4f')})", _num(p.mean_fidelity, ".3f"),
                  _num(p.mean_spearman), _num(p.mean_topk_jaccard), str(calls), str(tokens), _usd(usd))
    console.print(t)
    console.print("accepted: " + (", ".join(report.accepted) or "none (the oracle will explain everything)"))
