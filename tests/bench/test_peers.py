"""shap's and lime's own explainers as peers in the bench, on real reviews with VADER as the oracle (fast)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from proxyx.bench.peers import PEERS, explain_peer, unit_hierarchy
from proxyx.bench.run import run_bench
from proxyx.cli import app
from proxyx.config import load_config
from proxyx.errors import ConfigError
from proxyx.perturb import Segments
from proxyx.results import BenchReport

from typer.testing import CliRunner


@pytest.fixture(scope="module")
def vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: np.array([(analyzer.polarity_scores(t)["compound"] + 1) / 2 for t in texts])


def _value_fn(segments, model, asked):
    def value(masks):
        texts = segments.render_many(masks)
        asked.extend(texts)
        return model(texts)

    return value


@pytest.mark.parametrize("peer", [pytest.param(p, id=p) for p in PEERS])
def test_a_peer_gives_one_value_per_unit_and_finds_the_word_that_decides(peer, vader):
    segments = Segments("the parcel came on a tuesday and the tea inside was wonderful as usual")
    asked: list[str] = []
    attr = explain_peer(peer, segments, _value_fn(segments, vader, asked), samples=40, seed=3)
    assert attr.values.shape == (len(segments),)
    assert segments.units[int(np.argmax(attr.values))] == "wonderful"
    assert attr.n_evals == len(asked) and len(set(asked)) <= attr.n_evals <= 41  # Partition may pass its budget by one
    assert attr.full_value == pytest.approx(vader([segments.full])[0])
    if peer != "lime":  # Shapley and Owen values: efficient, from f(empty) to f(full)
        assert attr.base_value == pytest.approx(vader([""])[0])
        assert attr.base_value + attr.values.sum() == pytest.approx(attr.full_value)
    np.random.seed(99)  # shap draws from numpy's global state: the peer seeds it, and puts it back
    before = np.random.get_state()[1].copy()
    again = explain_peer(peer, segments, _value_fn(segments, vader, []), samples=40, seed=3)
    assert np.array_equal(again.values, attr.values)
    assert np.array_equal(np.random.get_state()[1], before)


def test_partition_hierarchy_is_over_proxyx_units_for_sentences_too():
    segments = Segments("Great tea. Arrived late, sadly! Would buy it again though.", unit="sentence")
    assert len(segments) == 3
    tree = unit_hierarchy(segments)
    assert tree.shape == (2, 4) and tree[-1, 3] == 3  # two merges; the root holds the three units


def test_a_one_unit_text_is_exact():
    segments = Segments("delicious")
    attr = explain_peer("lime", segments, lambda m: m[:, 0] * 0.5 + 0.25, samples=10, seed=0)
    assert attr.values.tolist() == [0.5] and attr.base_value == 0.25 and attr.n_evals == 2


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, fine_foods):
    """Three short real reviews as a data file."""
    path = tmp_path_factory.mktemp("data") / "reviews.jsonl"
    short = [x for x in fine_foods if 10 <= len(x.text.split()) <= 20][:3]
    path.write_text("".join(json.dumps({"id": x.id, "text": x.text, "label": x.label}) + "\n" for x in short))
    return path


def make(tmp, reviews, bench: str):
    cfg = tmp / "bench.yaml"
    cfg.write_text("oracle: {model: local/vader, price: {input_per_mtok: 2.5, output_per_mtok: 10.0}}\n"
                   "proxies: [{model: local/vader, alias: twin}]\n"
                   f"dataset: {{path: {reviews}}}\n"
                   "fidelity: {heldout_samples: 40}\n"
                   f"bench: {bench}\n"
                   f"cache_dir: {tmp / 'cache'}\n")
    return cfg


BENCH = ("{methods: [lime, kernel_shap], samples: [], oracle_ladder: [20, 60], estimators: [prior], "
         "oracle_samples: [20, 40], proxy_samples: 60, substitute: false, peers: [shap_kernel, shap_partition, lime]}")


@pytest.fixture(scope="module")
def benched(tmp_path_factory, reviews):
    tmp = tmp_path_factory.mktemp("bench")
    config = load_config(make(tmp, reviews, BENCH))
    first = run_bench(config, out_dir=tmp / "out")
    again = run_bench(config)
    return tmp / "out", first, again


def test_peer_rows_are_in_the_bench_at_every_budget(benched):
    out, doc, _ = benched
    assert doc.status == "complete"
    peers = {(c.route.peer, c.route.method, c.route.oracle_samples): c for c in doc.frontier.cells if c.route.peer}
    assert set(peers) == {(p, m, n) for p, m in [("shap_kernel", "kernel_shap"), ("shap_partition", "kernel_shap"),
                                                 ("lime", "lime")] for n in (20, 40)}
    for cell in peers.values():
        assert len(cell.points) == 3
        for p in cell.points:  # the calls it made, counted: distinct texts, within the rows it asked for
            assert 2 <= p.oracle_calls <= p.peer_rows <= cell.route.oracle_samples + 1
            assert p.proxy_calls == 0
    summaries = {s.route: s for s in doc.frontier.summaries}
    for route in (c.route for c in peers.values()):
        assert summaries[route].same_spend_rung in (20, 60) and summaries[route].mean["aopc"] is not None
    assert BenchReport.load(out / "bench.json") == doc
    md = (out / "bench.md").read_text()
    for peer in PEERS:
        assert f"| {peer} |" in md


def test_a_rerun_pays_nothing_and_gives_the_same_peers(benched):
    _, first, again = benched
    assert first.run.paid.calls > 0 and again.run.paid.calls == 0
    assert [c.points for c in again.frontier.cells] == [c.points for c in first.frontier.cells]


@pytest.mark.parametrize("bench, message", [
    pytest.param("{methods: [kernel_shap], samples: [], oracle_ladder: [20], peers: [lime]}",
                 "bench.peers: lime is judged as lime", id="method-not-benched"),
    pytest.param("{samples: [12], peers: [shap_kernel]}", "bench.oracle_ladder", id="no-frontier"),
])
def test_a_peer_that_cannot_run_is_one_line_and_exit_2(tmp_path, reviews, bench, message):
    cfg = make(tmp_path, reviews, bench)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        run_bench(load_config(cfg))
    result = CliRunner().invoke(app, ["bench", str(cfg), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
