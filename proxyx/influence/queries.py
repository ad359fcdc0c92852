"""Benchmark queries: altered copies of training reviews, and their BM25 candidates.

``alter(text, strength, rng, synonyms)`` makes a query from a review, word by word:

1. drop the word with probability ``strength / 2``;
2. else, if WordNet lists a synonym of it (lower-cased, punctuation stripped,
   any part of speech, one-word lemmas only), replace it with probability
   ``strength`` by one drawn uniformly, keeping its capital and punctuation;
3. then, left to right, swap each word with the next with probability
   ``strength / 2`` (a local shuffle: a word moves a few places at most).

WordNet 3.0 comes from Debian's ``wordnet-base`` package (``fetch_wordnet``:
``apt-get download`` and ``dpkg-deb -x``, no root), read from its ``data.*``
files (format: wndb(5WN)); nltk's reader needs a ``lexnames`` file that the
package does not ship.
"""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path

from ..data import data_dir, unpack_deb
from ..errors import DataError

_PACKAGE = "wordnet-base"
_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
_WORD = re.compile(r"^(\W*)([A-Za-z][A-Za-z'-]*?)(\W*)$")


def wordnet_dir() -> Path:
    return data_dir() / "wordnet"


def fetch_wordnet(*, deb: str | Path | None = None, force: bool = False) -> Path:
    """Install WordNet's data files into ``data_dir()/wordnet`` (idempotent)."""
    out = wordnet_dir()
    if not force and all((out / f).is_file() for f in _FILES):
        return out
    with tempfile.TemporaryDirectory() as tmp:
        src = unpack_deb(_PACKAGE, Path(tmp), deb=deb, option="--wordnet-deb") / "usr" / "share" / "wordnet"
        if not all((src / f).is_file() for f in _FILES):
            raise DataError(f"{deb} holds no usr/share/wordnet/data.noun; is it wordnet-base?")
        out.mkdir(parents=True, exist_ok=True)
        for f in _FILES:
            part = out / f".{f}.part"
            part.write_bytes((src / f).read_bytes())
            part.replace(out / f)
    return out


def load_synonyms(directory: Path | None = None) -> dict[str, list[str]]:
    """Lower-case word -> its one-word synonyms (other lemmas of its synsets), sorted."""
    directory = directory or wordnet_dir()
    if not all((directory / f).is_file() for f in _FILES):
        raise DataError(f"WordNet is not installed ({directory / 'data.noun'} missing); "
                        "run 'proxyx fetch-data' or 'make install'")
    syn: dict[str, set[str]] = {}
    for f in _FILES:
        with (directory / f).open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("  "):  # licence header
                    continue
                fields = line.split()
                count = int(fields[3], 16)
                words = [re.sub(r"\(.*\)$", "", w).lower() for w in fields[4 : 4 + 2 * count : 2]]
                words = [w for w in words if w.isalpha()]
                for w in words:
                    syn.setdefault(w, set()).update(x for x in words if x != w)
    return {w: sorted(s) for w, s in syn.items() if s}


def alter(text: str, strength: float, rng: random.Random, synonyms: dict[str, list[str]]) -> str:
    """A query made from ``text`` (see the module docstring for the three steps)."""
    out: list[str] = []
    for word in text.split():
        if rng.random() < strength / 2:
            continue
        m = _WORD.match(word)
        if m and m.group(2).lower() in synonyms and rng.random() < strength:
            head, core, tail = m.groups()
            new = rng.choice(synonyms[core.lower()])
            word = head + (new.capitalize() if core[0].isupper() else new) + tail
        out.append(word)
    for i in range(len(out) - 1):
        if rng.random() < strength / 2:
            out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out) or text.split()[0]


class BM25Index:
    """BM25 (``bm25s``, English stop words) over the training texts: ``top(queries, k)`` -> indices, best first."""

    def __init__(self, texts: list[str]):
        import bm25s

        self._bm25s = bm25s
        self.retriever_ = bm25s.BM25()
        self.retriever_.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
        self.size = len(texts)

    def top(self, queries: list[str], k: int) -> list[list[int]]:
        tokens = self._bm25s.tokenize(queries, stopwords="en", return_ids=False, show_progress=False)
        tokens = [t or ["the"] for t in tokens]
        docs, _ = self.retriever_.retrieve(tokens, k=min(k, self.size), show_progress=False)
        return [list(map(int, row)) for row in docs]
