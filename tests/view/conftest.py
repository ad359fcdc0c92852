"""Real reports to look at: 'proxyx explain' and 'proxyx bench' with the fast local models.

VADER is the oracle and TF-IDF + logistic regression (fitted on the same
file) the proxy, so a run takes seconds and needs no Gemma. The reviews hold
what a page must escape (``<``, ``&``, quotes, a script tag, an entity), and
two of them are labelled against their words so that the proxy's label
disagrees with the oracle's there and the oracle explains them itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REVIEWS = [
    {"id": 'q"&<1>', "text": 'I <3 this tea & the "smell" is great, best ever', "label": "great"},
    {"id": "b2", "text": "Awful taste, stale and bitter; would not buy again <script>alert('x')</script>", "label": "other"},
    {"id": "c3", "text": "Good price but the box arrived crushed and half empty &amp; leaking", "label": "other"},
    {"id": "d4", "text": "Great coffee, rich and smooth. My favorite brand", "label": "great"},
    {"id": "e5", "text": "Terrible. The chips were soggy & tasted like cardboard", "label": "other"},
    {"id": "f6", "text": "Delicious snack, kids love it and it's healthy too", "label": "great"},
    {"id": "g7", "text": "Horrible, disgusting and sad", "label": "other"},
    {"id": "h8", "text": "Dreadful nasty sickening mess", "label": "other"},
]
# The proxy's training reviews: more 'great' than 'other', and none of the words of g7 and h8, so that
# there the proxy says 'great' (its prior), VADER 'other', and the oracle explains.
TRAIN = [(t, "great") for t in ("great coffee love it", "best tea ever great taste", "love these snacks so good",
                                "delicious and fresh great price", "my favorite brand love it",
                                "excellent flavor great value", "good stuff would buy again")] + \
        [(t, "other") for t in ("stale and bitter taste", "box arrived crushed and empty", "would not buy again bad",
                                "awful taste threw it away", "soggy chips tasted like cardboard")]
SCREEN = [("fresh tasty coffee, great", "great"), ("bitter and stale, bad box", "other"),
          ("love this tea so much", "great"), ("crushed box and soggy chips", "other")]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_config(root: Path, extra: str = "") -> Path:
    test = _jsonl(root / "reviews.jsonl", REVIEWS)
    train = _jsonl(root / "train.jsonl", [{"id": f"t{i}", "text": t, "label": y} for i, (t, y) in enumerate(TRAIN)])
    screen = _jsonl(root / "screen.jsonl", [{"id": f"s{i}", "text": t, "label": y} for i, (t, y) in enumerate(SCREEN)])
    cfg = root / "config.yaml"
    cfg.write_text(
        "seed: 0\n"
        "oracle: local/vader\n"
        "proxies: [local/tfidf-lr]\n"
        f"dataset: {{path: {{train: {train}, test: {test}, screen: {screen}}}}}\n"
        "task: {labels: [great, other]}\n"
        "explainer: {method: kernel_shap, samples: 32}\n"
        "screen: {enabled: false, min_instances: 2, max_instances: 3}\n"
        "fidelity: {enabled: true}\n"
        f"cache_dir: {root / 'cache'}\n"
        f"output: {root / 'report.json'}\n" + extra, encoding="utf-8")
    return cfg


def proxyx(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxyx", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def report_path(tmp_path_factory) -> Path:
    """An explain report: six instances explained by the proxy (with the oracle's explanation too), two by the oracle."""
    root = tmp_path_factory.mktemp("explain")
    p = proxyx("explain", str(write_config(root)), "-q")
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads((root / "report.json").read_text(encoding="utf-8"))
    roles = [e["role"] for e in doc["instances"] if e.get("oracle_attribution") or e["role"] == "oracle"]
    assert len(doc["instances"]) == len(REVIEWS) and {"proxy", "oracle"} <= set(roles), roles
    return root / "report.json"


@pytest.fixture(scope="session")
def report(report_path) -> dict:
    return json.loads(report_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory) -> Path:
    """A bench run over a one-proxy, one-method, two-budget grid: bench.json and fidelity_vs_cost.png."""
    root = tmp_path_factory.mktemp("bench")
    cfg = write_config(root, "bench: {proxies: [local/tfidf-lr], methods: [lime], samples: [16, 32]}\n")
    p = proxyx("bench", str(cfg), "--out", str(root / "bench"), "-q")
    assert p.returncode == 0, p.stderr[-3000:]
    return root / "bench"
