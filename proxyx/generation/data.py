"""Questions over contexts of documents: the data a generate task explains.

* ``dataset.name: debian_faq`` (built in, fetched at install: ``proxyx.datasets``):
  each FAQ question, with ``dataset.documents`` passages: its own answer
  section (the gold document) among its nearest sections in FAQ order (same
  chapter, so on topic), in a seeded order, each cut to its first
  ``dataset.document_words`` words.
* ``dataset.path``: JSONL, one object per line with ``question`` and either
  ``documents`` (a list of strings) or ``context`` (one string, documents
  separated by ``task.separator``); optional ``id`` and ``gold_document``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..inputs import read_input
from ..config.load import decode_utf8


@dataclass(frozen=True)
class QAInstance:
    id: str
    question: str
    documents: tuple[str, ...]
    gold_document: int | None = None


def _cut(text: str, words: int) -> str:
    w = text.split()
    return " ".join(w[:words]) + (" ..." if len(w) > words else "")


def faq_instances(*, documents: int, document_words: int, seed: int) -> list[QAInstance]:
    """Every FAQ question with its gold answer among its ``documents - 1`` nearest sections."""
    from ..datasets import load_faq

    items = load_faq()
    if documents > len(items):
        raise DataError(f"dataset.documents is {documents} but the FAQ has only {len(items)} sections; lower it")
    out = []
    for i, item in enumerate(items):
        if not item.is_question:
            continue
        near = sorted((j for j in range(len(items)) if j != i), key=lambda j: (abs(j - i), j))[: documents - 1]
        chosen = [i, *near]
        random.Random(f"{seed}:{item.id}").shuffle(chosen)
        out.append(QAInstance(id=item.id, question=item.question,
                              documents=tuple(_cut(items[j].answer, document_words) for j in chosen),
                              gold_document=chosen.index(i)))
    return out


def file_instances(path: str | Path, separator: str) -> list[QAInstance]:
    """Rows of a JSONL file with ``question`` and ``documents`` (or ``context``)."""
    path = Path(path)
    raw = read_input(path, what="dataset.path", error=DataError,
                     fix="give a JSONL file with question and documents")
    out = []
    for n, line in enumerate(decode_utf8(raw, str(path), error=DataError).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise DataError(f"{path}:{n}: not a JSON object ({e}); write one object per line") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise DataError(f"{path}:{n}: needs a 'question' string and 'documents' (a list) or 'context' (a string)")
        docs = row.get("documents")
        if docs is None and isinstance(row.get("context"), str):
            docs = [d for d in row["context"].split(separator) if d.strip()]
        if not isinstance(docs, list) or not docs or not all(isinstance(d, str) and d.strip() for d in docs):
            raise DataError(f"{path}:{n}: 'documents' must be a non-empty list of non-empty strings "
                            "(or give 'context', documents separated by task.separator)")
        gold = row.get("gold_document")
        out.append(QAInstance(id=str(row.get("id", n)), question=row["question"], documents=tuple(docs),
                              gold_document=gold if isinstance(gold, int) else None))
    if not out:
        raise DataError(f"{path} holds no rows; add JSON lines with question and documents")
    return out


def load_qa(config, *, every: bool = False) -> list[QAInstance]:
    """The seeded sample (``dataset.limit``) of a generate config's questions; ``every``: all, in the same order
    (the first ``dataset.limit`` are the sample)."""
    ds = config.dataset
    if isinstance(ds.path, dict):
        raise DataError("a generate task reads one JSONL file: dataset.path: questions.jsonl")
    if ds.path is not None:
        rows = file_instances(ds.path, config.task.separator)
    elif ds.name == "debian_faq":
        rows = faq_instances(documents=ds.documents, document_words=ds.document_words, seed=ds.seed)
    else:
        raise DataError(f"dataset {ds.name!r} has no questions and documents; a generate task needs "
                        "dataset.name: debian_faq, or dataset.path (JSONL with question and documents)")
    if ds.max_words:
        rows = [r for r in rows if sum(len(d.split()) for d in r.documents) <= ds.max_words]
    order = list(rows)
    random.Random(ds.seed).shuffle(order)
    return order[: ds.limit] if ds.limit and not every else order
