"""Data files: encodings, ids, label fields, and splits that keep explained instances out of training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proxyx.config import parse_config
from proxyx.data import holdout, load_split, read_instances
from proxyx.errors import DataError
from proxyx.session import load_instances, open_session, split_note, train_instances

TEXTS = {"great": ["Absolutely delicious, the best coffee.", "Good value, my kids love these.", "Wonderful flavor, will buy again.",
                   "Perfect snack, tasty and fresh."],
         "other": ["Stale and bland, threw it away.", "Terrible taste, arrived broken.", "Awful, the worst tea I tried.",
                   "Disappointing and overpriced."]}
ROWS = [{"id": f"r{i}", "text": f"{t} ({i})", "label": lab}
        for i, (lab, t) in enumerate((lab, t) for _ in range(3) for lab, ts in TEXTS.items() for t in ts)]


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------ reading files


@pytest.mark.parametrize(
    "name, raw, where",
    [
        pytest.param("d.jsonl", b'{"text": "ok"}\n\n{"text": "caf\xe9"}\n', ":3: not UTF-8 (byte 0xe9 at column 14", id="jsonl"),
        pytest.param("d.csv", b'text\nok\n"multi\nline"\ncaf\xe9\n', ":5: not UTF-8 (byte 0xe9 at column 4", id="csv"),
    ],
)
def test_non_utf8_names_line_column_and_byte(tmp_path, name, raw, where):
    (tmp_path / name).write_bytes(raw)
    with pytest.raises(DataError, match="invalid continuation byte|invalid start byte") as e:
        read_instances(tmp_path / name)
    assert f"{tmp_path / name}{where}" in str(e.value)


@pytest.mark.parametrize("name, raw", [pytest.param("d.jsonl", b'\xef\xbb\xbf{"text": "caf\xc3\xa9"}\n', id="jsonl"),
                                       pytest.param("d.csv", b"\xef\xbb\xbftext\ncaf\xc3\xa9\n", id="csv")])
def test_utf8_bom_is_fine(tmp_path, name, raw):
    (tmp_path / name).write_bytes(raw)
    assert [x.text for x in read_instances(tmp_path / name)] == ["café"]


@pytest.mark.parametrize(
    "name, text, lines",
    [
        pytest.param("d.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n\n{"id": "a", "text": "z"}\n', (1, 4), id="jsonl"),
        pytest.param("d.csv", 'id,text\na,"two\nlines"\nb,y\na,z\n', (2, 5), id="csv"),
        pytest.param("d.jsonl", '{"id": 7, "text": "x"}\n{"id": "7", "text": "y"}\n', (1, 2), id="int-and-str"),
    ],
)
def test_duplicate_ids_name_the_id_and_both_lines(tmp_path, name, text, lines):
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=rf"id '\w' appears twice \(lines {lines[0]} and {lines[1]}\)"):
        read_instances(tmp_path / name)


def test_unlabelled_data_is_fine_with_the_default_label_field(tmp_path):
    got = read_instances(jsonl(tmp_path / "d.jsonl", [{"text": "x"}, {"text": "y"}]))
    assert [x.label for x in got] == [None, None] and [x.id for x in got] == ["0", "1"]


def test_a_label_field_no_row_has_is_named_with_the_fields_seen(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", ROWS[:3])
    with pytest.raises(DataError, match=r"no row has the field 'sentiment' \(dataset.label_field\); "
                                        r"fields seen: \['id', 'label', 'text'\]"):
        read_instances(path, label_field="sentiment")
    with pytest.raises(DataError, match="the train split needs labels"):
        read_instances(jsonl(tmp_path / "u.jsonl", [{"text": "x"}]), require_labels=True)


def test_a_row_without_a_label_when_labels_are_required(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", ROWS[:2] + [{"id": "z", "text": "no label"}])
    assert read_instances(path)[2].label is None
    with pytest.raises(DataError, match=r"d.jsonl:3: no label"):
        read_instances(path, require_labels=True)


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param(" \t\n ", id="whitespace"),
                                  pytest.param("\u200b\u200d \ufeff\u2060", id="zero-width")])
def test_a_text_that_shows_nothing_is_refused_with_its_line(tmp_path, text):
    path = jsonl(tmp_path / "d.jsonl", ROWS[:2] + [{"id": "z", "text": text}])
    with pytest.raises(DataError, match=r"d.jsonl:3: empty text \(only spaces or invisible characters\)"):
        read_instances(path)


@pytest.mark.parametrize("raw, line", [
    pytest.param('id,text\na,fine\nb,"never closed\nc,more\n', 3, id="rest-of-the-file"),
    pytest.param('id,text\na,"multi\nline",\nb,"open at the end', 4, id="last-line"),
])
def test_csv_with_an_unclosed_quote_names_the_line_where_it_opens(tmp_path, raw, line):
    (tmp_path / "d.csv").write_text(raw)
    with pytest.raises(DataError, match=rf"d.csv:{line}: a quoted field opened in this row is never closed"):
        read_instances(tmp_path / "d.csv")


def test_csv_with_quoted_newlines_and_doubled_quotes_is_fine(tmp_path):
    (tmp_path / "d.csv").write_text('id,text\na,"two\nlines"\nb,"say ""hi"""\n')
    assert [x.text for x in read_instances(tmp_path / "d.csv")] == ["two\nlines", 'say "hi"']


def test_csv_field_over_the_csv_module_default_is_read(tmp_path):
    long = "word " * 40_000  # 200,000 characters: over csv's default field limit of 131,072
    (tmp_path / "d.csv").write_text(f"id,text\nlong,{long}\n")
    assert len(read_instances(tmp_path / "d.csv")[0].text) == len(long)


# ------------------------------------------------------------------ splits


def test_holdout_is_seeded_disjoint_and_independent_of_row_order(tmp_path):
    rows = read_instances(jsonl(tmp_path / "d.jsonl", ROWS))
    train, rest = holdout(rows, 0.25, seed=0)
    assert len(train) == 6 and len(rest) == 18 and not {x.id for x in train} & {x.id for x in rest}
    again, _ = holdout(list(reversed(rows)), 0.25, seed=0)
    assert {x.id for x in again} == {x.id for x in train}
    other, _ = holdout(rows, 0.25, seed=1)
    assert {x.id for x in other} != {x.id for x in train}
    assert [len(p) for p in holdout(rows[:2], 0.99, seed=0)] == [1, 1]  # each side keeps a row


def test_one_file_per_split(tmp_path):
    files = {"train": str(jsonl(tmp_path / "a.jsonl", ROWS[:10])), "test": str(jsonl(tmp_path / "b.jsonl", ROWS[10:]))}
    assert [x.id for x in load_split(None, "train", path=files)] == [r["id"] for r in ROWS[:10]]
    with pytest.raises(DataError, match=r"dataset.path has no 'screen' file \(it has test, train\)"):
        load_split(None, "screen", path=files)


def config(tmp_path: Path, dataset: str, proxies: str = "[local/tfidf-lr, {model: local/vader, alias: v}]", oracle: str = "local/vader"):
    import yaml

    return parse_config(yaml.safe_load(f"oracle: {oracle}\nproxies: {proxies}\ndataset: {dataset}\n"
                                       f"cache_dir: {tmp_path / 'cache'}\n"))


def test_one_file_and_a_model_that_trains_gets_a_held_out_split(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXYX_DATA_DIR", str(tmp_path / "data"))
    path = jsonl(tmp_path / "d.jsonl", ROWS)
    cfg = config(tmp_path, f"{{path: {path}, train_fraction: 0.5, limit: 5}}")
    explained = load_instances(cfg)
    pool = load_instances(cfg, split="test", limit=-1)
    train = train_instances(cfg)
    assert len(train) == 12 and len(pool) == 12 and len(explained) == 5
    assert not {x.text for x in train} & {x.text for x in pool}
    session = open_session(cfg)
    try:
        tfidf = session.proxy("local/tfidf-lr").model
        assert {x.id for x in tfidf.train} == {x.id for x in train}
        assert not {x.text for x in tfidf.train} & {x.text for x in explained}
    finally:
        session.close()
    assert "seeded 50% of its rows" in split_note(cfg) and "local/tfidf-lr" in split_note(cfg)


def test_one_file_and_nothing_that_trains_is_the_whole_file(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", ROWS)
    cfg = config(tmp_path, f"{{path: {path}}}", proxies="[local/vader]", oracle="{model: local/vader, alias: o}")
    assert len(load_instances(cfg)) == len(ROWS)
    assert "no model trains on it" in split_note(cfg)


def test_split_files_drop_training_rows_that_are_explained(tmp_path, monkeypatch):
    """A test review copied into the train file is never trained on."""
    monkeypatch.setenv("PROXYX_DATA_DIR", str(tmp_path / "data"))
    test_rows = ROWS[16:]
    train_rows = ROWS[:16] + [{**test_rows[0], "id": "copy"}]
    a, b = jsonl(tmp_path / "a.jsonl", train_rows), jsonl(tmp_path / "b.jsonl", test_rows)
    cfg = config(tmp_path, f"{{path: {{train: {a}, test: {b}}}}}", oracle="local/tfidf-lr", proxies="[local/vader]")
    train = train_instances(cfg)
    assert [x.id for x in train] == [r["id"] for r in ROWS[:16]]
    session = open_session(cfg)
    try:
        assert {x.id for x in session.oracle.model.train} == {r["id"] for r in ROWS[:16]}
    finally:
        session.close()
    assert split_note(cfg) is None


def test_screen_file_is_the_default_screen_split(tmp_path):
    a, b, c = (jsonl(tmp_path / f"{n}.jsonl", ROWS[i:i + 8]) for i, n in ((0, "a"), (8, "b"), (16, "c")))
    cfg = config(tmp_path, f"{{path: {{train: {a}, test: {b}, screen: {c}}}}}")
    assert cfg.dataset.screen_split == "screen"
    assert {x.id for x in load_instances(cfg, split="screen", limit=-1)} == {r["id"] for r in ROWS[16:24]}


def test_long_text_refused_with_its_id_unless_max_words_skips_it(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", ROWS[:3] + [{"id": "novel", "text": "word " * 6000, "label": "great"}])
    cfg = config(tmp_path, f"{{path: {path}}}", proxies="[local/vader]", oracle="{model: local/vader, alias: o}")
    with pytest.raises(DataError, match=r"instance 'novel' \(test split\) has 6,000 words; .* at most 5,000 words"):
        load_instances(cfg)
    cfg = config(tmp_path, f"{{path: {path}, max_words: 100}}", proxies="[local/vader]", oracle="{model: local/vader, alias: o}")
    assert [x.id for x in load_instances(cfg)] != [] and "novel" not in {x.id for x in load_instances(cfg)}
