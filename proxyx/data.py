"""Instances and data sets: JSONL/CSV files and the built-in ``fine_foods``.

``fine_foods`` is the Amazon fine-food reviews sample (``small_fine_foods``)
from Debian's ``r-cran-modeldata`` package: 4,000 train / 1,000 test reviews,
label ``great`` or ``other``. ``fetch_fine_foods`` downloads the .deb with
apt-get, unpacks it and converts R's lazy-load database to JSONL in the data
directory (``$PROXYX_DATA_DIR``, default ``~/.cache/proxyx``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import struct
import subprocess
import tempfile
import zlib
import bz2
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError
from .inputs import read_input
from .config.models import is_blank
from .config.load import decode_utf8

BUILTIN = {"fine_foods"}


@dataclass(frozen=True)
class Instance:
    id: str
    text: str
    label: str | None = None


def data_dir() -> Path:
    """Where data sets and fitted proxies live (outside the git tree)."""
    return Path(os.environ.get("PROXYX_DATA_DIR") or Path.home() / ".cache" / "proxyx")


def _fine_foods_file(split: str) -> Path:
    return data_dir() / "fine_foods" / f"{split}.jsonl"


# ----------------------------------------------------------------- loading


def _read_bytes(path: Path) -> bytes:
    return read_input(path, what="data file", error=DataError, fix="set dataset.path to a JSONL or CSV file")


def _read_jsonl(path: Path, text_field: str) -> list[tuple[int, dict]]:
    """(line number, row) of every non-blank line."""
    rows = []
    for n, raw in enumerate(_read_bytes(path).splitlines(), 1):
        line = decode_utf8(raw, str(path), error=DataError, line=n)
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object") from None
        except RecursionError:
            raise DataError(f"{path}:{n}: JSON nested too deeply; each line must be one flat JSON object") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{n}: each line must be a JSON object with a {text_field!r} field")
        rows.append((n, row))
    return rows


def _read_csv(path: Path) -> list[tuple[int, dict]]:
    """(line number where the record starts, row) of every CSV record after the header."""
    text = decode_utf8(_read_bytes(path), str(path), error=DataError)
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))  # long texts are refused by their word count, with their id
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, start = [], 2
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({e}); check the quoting") from None
    if rows and _unclosed_quote(io.StringIO(text, newline="").readlines()[rows[-1][0] - 1:]):
        raise DataError(f"{path}:{rows[-1][0]}: a quoted field opened in this row is never closed, so the rest of "
                        'the file was read into it; close the quote (a quote inside a field is written "")')
    return rows


def _unclosed_quote(lines: list[str]) -> bool:
    """Does the first CSV record of ``lines`` run to the end of the text inside quotes?

    Python's lenient reader takes such a record silently; the strict one says "unexpected end of data".
    """
    try:
        next(csv.reader(lines, strict=True), None)
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


def read_instances(path: str | Path, *, text_field: str = "text", label_field: str = "label",
                   require_labels: bool = False) -> list[Instance]:
    """Instances from a JSONL or CSV file (UTF-8).

    Refused, naming the file and line: an empty text, a missing text field,
    an id given twice, and a ``label_field`` that no row has (unless it is the
    default ``label``: unlabelled data is fine to explain) or, with
    ``require_labels``, that a row lacks.
    """
    path = Path(path)
    rows = _read_csv(path) if path.suffix.lower() == ".csv" else _read_jsonl(path, text_field)
    seen_fields = sorted({str(k) for _, row in rows[:1000] for k in row})
    labelled = any(label_field in row for _, row in rows)
    if rows and not labelled and (require_labels or label_field != "label"):
        why = "; the train split needs labels (local/tfidf-lr fits on them)" if require_labels else ""
        raise DataError(f"{path}: no row has the field {label_field!r} (dataset.label_field){why}; "
                        f"fields seen: {seen_fields}; set dataset.label_field to the field that holds the label")
    out: list[Instance] = []
    first_line: dict[str, int] = {}
    for i, (line, row) in enumerate(rows):
        if text_field not in row:
            raise DataError(f"{path}:{line}: no field {text_field!r}; set dataset.text_field (fields: {sorted(map(str, row))})")
        text = str(row[text_field] or "")
        if is_blank(text):
            raise DataError(f"{path}:{line}: empty text (only spaces or invisible characters); remove the row or "
                            "fix the data")
        label = row.get(label_field)
        if label is None and require_labels:
            raise DataError(f"{path}:{line}: no label ({label_field!r} is missing or null); the train split needs a "
                            "label on every row, since local/tfidf-lr fits on them")
        id_ = str(row.get("id", i))
        if id_ in first_line:
            raise DataError(f"{path}: id {id_!r} appears twice (lines {first_line[id_]} and {line}); "
                            "ids must be unique, since results and the cache are keyed by them")
        first_line[id_] = line
        out.append(Instance(id=id_, text=text, label=None if label is None else str(label)))
    if not out:
        raise DataError(f"data set {str(path)!r} is empty; it needs at least one row with a {text_field!r} field")
    return out


def holdout(instances: list[Instance], train_fraction: float, seed: int) -> tuple[list[Instance], list[Instance]]:
    """A seeded split of one file: (train, rest), ``round(train_fraction * n)`` rows for training.

    Rows are ordered by a seeded hash of their id (so the split does not
    depend on row order), and each side gets at least one row when n >= 2.
    """
    order = sorted(instances, key=lambda x: hashlib.sha256(f"{seed}\x00{x.id}".encode()).hexdigest())
    n = len(order)
    k = min(max(round(train_fraction * n), 1), n - 1) if n >= 2 else 0
    chosen = {x.id for x in order[:k]}
    return [x for x in instances if x.id in chosen], [x for x in instances if x.id not in chosen]


def load_split(name: str | None, split: str, *, path: str | dict[str, str] | None = None, text_field: str = "text",
               label_field: str = "label", train_fraction: float | None = None, seed: int = 0,
               require_labels: bool = False) -> list[Instance]:
    """One split of a built-in data set or of ``dataset.path``.

    ``path`` is one file per split (a mapping) or one file. One file is every
    split, unless ``train_fraction`` is given: then ``train`` is a seeded
    held-out part of it (``holdout``) and every other split is the rest.
    """
    fields = {"text_field": text_field, "label_field": label_field, "require_labels": require_labels}
    if isinstance(path, dict):
        if split not in path:
            raise DataError(f"dataset.path has no {split!r} file (it has {', '.join(sorted(path))}); "
                            f"add path.{split}: FILE{' (local/tfidf-lr trains on it)' if split == 'train' else ''}")
        return read_instances(path[split], **fields)
    if path is not None:
        if train_fraction is None:
            return read_instances(path, **fields)
        train, rest = holdout(read_instances(path, **fields), train_fraction, seed)
        return train if split == "train" else rest
    if name not in BUILTIN:
        raise DataError(f"unknown data set {name!r}; built-in: {sorted(BUILTIN)}, or set dataset.path to a JSONL/CSV file")
    file = _fine_foods_file(split)
    if not file.is_file():
        raise DataError(f"data set {name!r} is not installed ({file} missing); run 'make install' or 'proxyx fetch-data'")
    return read_instances(file)


def sample(instances: list[Instance], limit: int | None, seed: int) -> list[Instance]:
    """A seeded random subset (all of them, shuffled, when ``limit`` is None)."""
    order = list(instances)
    random.Random(seed).shuffle(order)
    return order[:limit] if limit else order


# ----------------------------------------------------------------- fetching fine_foods

_PACKAGE = "r-cran-modeldata"
_OBJECTS = {"train": "training_data", "test": "testing_data"}


def _lazyload_object(rdx: Path, rdb: Path, name: str):
    """One object of R's lazy-load database (``Rdata.rdx`` index + ``Rdata.rdb`` blobs)."""
    import rdata  # heavy, only needed here

    index = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress(rdx.read_bytes())))
    offset, length = (int(x) for x in index["variables"][name])
    with rdb.open("rb") as f:
        f.seek(offset)
        blob = f.read(length)
    kind, body = blob[4:5], blob[5:]  # 4-byte big-endian raw length, then a type byte (R_decompress3)
    if kind == b"Z":
        raw = lzma.decompress(body, format=lzma.FORMAT_RAW,
                              filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}])
    elif kind == b"2":
        raw = bz2.decompress(body)
    elif kind == b"1":
        raw = zlib.decompress(body)
    elif kind == b"0":
        raw = body
    else:  # R_decompress1: zlib straight after the length
        raw = zlib.decompress(blob[4:])
    expected = struct.unpack(">I", blob[:4])[0]
    if len(raw) != expected:
        raise DataError(f"{rdb}: object {name!r} decompressed to {len(raw)} bytes, expected {expected}")
    return rdata.conversion.convert(rdata.parser.parse_data(raw, extension=".rds"))


def unpack_deb(package: str, tmp: Path, *, deb: str | Path | None, option: str) -> Path:
    """Unpack Debian's ``package`` (``apt-get download`` it unless ``deb`` is given) under ``tmp``; its root.

    ``option`` is the ``proxyx fetch-data`` option that takes a .deb by hand, named in the errors.
    """
    if deb is None:
        try:
            subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True, text=True)
        except FileNotFoundError:
            raise DataError(f"apt-get not found: this data comes from Debian's {package} package; download the "
                            f".deb by hand and pass it with 'proxyx fetch-data {option} FILE'") from None
        except subprocess.CalledProcessError as e:
            last = (e.stderr or e.stdout or "").strip().splitlines()[-1:] or ["no output"]
            raise DataError(f"'apt-get download {package}' failed ({last[0]}); run 'apt-get update' first") from None
        deb = next(tmp.glob(f"{package}_*.deb"))
    root = tmp / "x"
    try:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, capture_output=True)
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        raise DataError(f"could not unpack {deb} with dpkg-deb ({e}); is it the {package} .deb?") from None
    return root


def fetch_fine_foods(*, deb: str | Path | None = None, force: bool = False) -> Path:
    """Download and convert the fine-food reviews; does nothing when they are there."""
    out = data_dir() / "fine_foods"
    if not force and all(_fine_foods_file(s).is_file() for s in _OBJECTS):
        return out
    import warnings

    with tempfile.TemporaryDirectory() as tmp:
        root = unpack_deb(_PACKAGE, Path(tmp), deb=deb, option="--deb")
        (lib,) = list(root.rglob("modeldata/data/Rdata.rdx")) or [None]
        if lib is None:
            raise DataError(f"{deb} holds no modeldata/data/Rdata.rdx; is it r-cran-modeldata?")
        out.mkdir(parents=True, exist_ok=True)
        for split, obj in _OBJECTS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = _lazyload_object(lib, lib.with_suffix(".rdb"), obj)
            part = _fine_foods_file(split).with_suffix(".part")
            with part.open("w", encoding="utf-8") as f:
                for i, row in enumerate(frame.itertuples(index=False)):
                    rec = {"id": f"{split}-{i}", "text": str(row.review), "label": str(row.score), "product": str(row.product)}
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            part.replace(_fine_foods_file(split))
    return out


def fingerprint(instances: list[Instance]) -> str:
    h = hashlib.sha256()
    for x in instances:
        h.update(f"{x.id}\x00{x.text}\x00{x.label}\x01".encode())
    return h.hexdigest()[:16]
