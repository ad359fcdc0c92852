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
import json
import lzma
import os
import random
import shutil
import struct
import subprocess
import tempfile
import zlib
import bz2
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

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


def _read_jsonl(path: Path, text_field: str, label_field: str) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: each line must be a JSON object with a {text_field!r} field")
            rows.append(row)
    return rows


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_instances(path: str | Path, *, text_field: str = "text", label_field: str = "label") -> list[Instance]:
    """Instances from a JSONL or CSV file; rows with an empty text are an error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist; check dataset.path in the config")
    rows = _read_csv(path) if path.suffix.lower() == ".csv" else _read_jsonl(path, text_field, label_field)
    out = []
    for n, row in enumerate(rows):
        if text_field not in row:
            raise DataError(f"{path}: row {n + 1} has no field {text_field!r}; set dataset.text_field (fields: {sorted(row)})")
        text = str(row[text_field] or "")
        if not text.strip():
            raise DataError(f"{path}: row {n + 1} has an empty text; remove it or fix the data")
        label = row.get(label_field)
        out.append(Instance(id=str(row.get("id", n)), text=text, label=None if label is None else str(label)))
    if not out:
        raise DataError(f"data set {str(path)!r} is empty; it needs at least one row with a {text_field!r} field")
    return out


def load_split(name: str | None, split: str, *, path: str | None = None, text_field: str = "text",
               label_field: str = "label") -> list[Instance]:
    """One split of a built-in data set, or a file (the same file for every split)."""
    if path is not None:
        return read_instances(path, text_field=text_field, label_field=label_field)
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


def fetch_fine_foods(*, deb: str | Path | None = None, force: bool = False) -> Path:
    """Download and convert the fine-food reviews; does nothing when they are there."""
    out = data_dir() / "fine_foods"
    if not force and all(_fine_foods_file(s).is_file() for s in _OBJECTS):
        return out
    import warnings

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if deb is None:
            try:
                subprocess.run(["apt-get", "download", _PACKAGE], cwd=tmp, check=True, capture_output=True, text=True)
            except FileNotFoundError:
                raise DataError("apt-get not found: fine_foods comes from Debian's r-cran-modeldata package; "
                                "download the .deb by hand and pass it with 'proxyx fetch-data --deb FILE'") from None
            except subprocess.CalledProcessError as e:
                last = (e.stderr or e.stdout or "").strip().splitlines()[-1:] or ["no output"]
                raise DataError(f"'apt-get download {_PACKAGE}' failed ({last[0]}); run 'apt-get update' first") from None
            deb = next(tmp.glob(f"{_PACKAGE}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / "x")], check=True)
        (lib,) = list((tmp / "x").rglob("modeldata/data/Rdata.rdx")) or [None]
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
