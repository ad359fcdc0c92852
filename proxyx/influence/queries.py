"""Benchmark queries: paraphrases of training reviews made by rule, and their BM25 candidates.

``synonymize(text, rate, rng, synonyms, vocabulary)`` replaces each content
word (not one of the 179 English stop words of ``bm25s``) that WordNet gives
a synonym for (itself or its lemma, regular inflections undone: the synonym
is not re-inflected), with probability ``rate``, by one of its one-word synonyms
(any sense, any part of speech: WordNet has no word-frequency order in the
files we use), drawn uniformly among those in ``vocabulary`` (the training
texts' words, so the query reads like the corpus) or among all when none
is; capitals and punctuation stay. ``reorder_clauses`` shuffles the
sentences of a review, or its comma-separated clauses when it has one
sentence, into another order. BM25 counts words, so a reordered query has
the same BM25 candidates as the unordered one.

WordNet 3.0 comes from Debian's ``wordnet-base`` package (``fetch_wordnet``:
``apt-get download`` and ``dpkg-deb -x``, no root), read from its ``data.*``
files (format: wndb(5WN)); nltk's reader needs a ``lexnames`` file that the
package does not ship.
"""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


#: regular inflections undone to find a word's WordNet lemma (``data.*`` lists lemmas only)
_SUFFIXES = (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"))


def lemma(word: str, synonyms: dict[str, list[str]]) -> str | None:
    """``word`` or its regular-inflection lemma, when WordNet gives it a synonym (None otherwise)."""
    if word in synonyms:
        return word
    for end, repl in _SUFFIXES:
        if word.endswith(end) and word[: -len(end)] + repl in synonyms:
            return word[: -len(end)] + repl
    return None


def synonymize(text: str, rate: float, rng: random.Random, synonyms: dict[str, list[str]],
               vocabulary: set[str] | frozenset[str] = frozenset()) -> str:
    """``text`` with its content words replaced by WordNet synonyms (see the module docstring)."""
    stop = _stopwords()
    out = []
    for word in text.split():
        m = _WORD.match(word)
        core = m.group(2).lower() if m else ""
        base = lemma(core, synonyms) if m and core not in stop else None
        if base and rng.random() < rate:
            head, old, tail = m.groups()
            pool = [w for w in synonyms[base] if w in vocabulary] or synonyms[base]
            new = rng.choice(pool)
            word = head + (new.capitalize() if old[0].isupper() else new) + tail
        out.append(word)
    return " ".join(out)


def reorder_clauses(text: str, rng: random.Random) -> str:
    """The sentences of ``text`` (or, with one sentence, its comma-separated clauses) in another order."""
    parts = [p for p in re.split(r"(?<=[.!?;])\s+", text.strip()) if p]
    joiner = " "
    if len(parts) < 2:
        parts, joiner = [p.strip() for p in text.strip().split(",") if p.strip()], ", "
    if len(parts) < 2:
        return text
    order = list(range(len(parts)))
    while order == sorted(order):
        rng.shuffle(order)
    return joiner.join(parts[i] for i in order)


def rule_paraphrases(texts: list[str], sources: list[int], rate: float, seed: int) -> dict[str, list[str]]:
    """The benchmark's rule settings for the training texts ``sources``: ``wordnet`` and ``wordnet_reordered``."""
    synonyms, vocab = load_synonyms(), frozenset(w for t in texts for w in words(t))
    syn = [synonymize(texts[i], rate, random.Random(f"{seed}:wordnet:{i}"), synonyms, vocab) for i in sources]
    return {"wordnet": syn, "wordnet_reordered": [reorder_clauses(t, random.Random(f"{seed}:reorder:{i}"))
                                                  for t, i in zip(syn, sources)]}


def words(text: str) -> list[str]:
    """Lower-case words of ``text``."""
    return [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text)]


def content_words(text: str) -> list[str]:
    """Lower-case words of ``text`` that are not stop words."""
    stop = _stopwords()
    return [w for w in words(text) if w not in stop]


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
