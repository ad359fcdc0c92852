"""proxyx's LIME against the ``lime`` package: mean coefficients over seeds, per word.

    .venv/bin/python scripts/lime_vs_package.py [--seeds 30] [--samples 1000]

Both explain the same deterministic model (VADER's probability of
"positive") on the same texts with the same number of samples; lime uses its
text explainer with every word as a feature and no feature selection. For
each word it prints both means over the seeds, their difference and that
difference in standard errors (z). proxyx's LIME deduplicates masks and
enumerates short texts, and spreads each level's expected kernel mass over
the distinct masks (``explainers/lime.py``); the last columns show the same
with the kernel it had before (one lime weight per distinct mask), whose
coefficients come out smaller. Needs ``pip install lime==0.2.0.1``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from proxyx.explainers import make_explainer
from proxyx.explainers.lime import LimeExplainer
from proxyx.perturb import Segments

TEXTS = (
    "great tasty snack but sadly too expensive now",  # 8 words: every coalition enumerated at 1000 samples
    "this coffee tastes wonderful and fresh but the price is terrible while shipping was slow",  # 15 words: sampled
)


def vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: np.array([(analyzer.polarity_scores(" ".join(t.split()))["compound"] + 1) / 2
                                   for t in texts])


@dataclass(frozen=True)
class Comparison:
    words: tuple[str, ...]
    ours: np.ndarray  # (seeds, words)
    package: np.ndarray
    unspread: np.ndarray  # ours with one lime weight per distinct mask (the kernel before the fix)

    @staticmethod
    def z(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Difference of means in standard errors (Welch), per word."""
        se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
        diff = a.mean(axis=0) - b.mean(axis=0)
        return np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff == 0, 0.0, np.inf))

    @property
    def z_ours(self) -> np.ndarray:
        return self.z(self.ours, self.package)

    @property
    def z_unspread(self) -> np.ndarray:
        return self.z(self.unspread, self.package)

    @property
    def scale_ratio(self) -> float:
        """sum |mean ours| / sum |mean lime| (1 = same size)."""
        return float(np.abs(self.ours.mean(0)).sum() / np.abs(self.package.mean(0)).sum())


def compare(text: str, *, samples: int = 1000, seeds: int = 30, model=None) -> Comparison:
    """Explain ``text`` (distinct plain words) with proxyx's LIME and with lime's, over ``seeds`` seeds."""
    from lime.lime_text import LimeTextExplainer

    model = model or vader()
    segments = Segments(text)
    words = segments.units
    if len(set(words)) != len(words) or any(not w.isalnum() for w in words):
        raise ValueError("use distinct plain words, so that lime's features are exactly the words")
    value_fn = lambda masks: model(segments.render_many(masks))  # noqa: E731
    proba = lambda texts: np.column_stack([1 - model(texts), model(texts)])  # noqa: E731
    ours, package, unspread = [], [], []
    for seed in range(seeds):
        explainer = make_explainer("lime", samples=samples, seed=seed)
        masks = explainer.sample_masks(len(words))
        y = value_fn(masks)
        ours.append(explainer.fit(masks, y).values)
        old = LimeExplainer(samples=samples, seed=seed)
        old.kernel = old.similarity  # the kernel before the fix: one lime weight per distinct mask
        unspread.append(old.fit(masks, y).values)
        lime = LimeTextExplainer(class_names=["other", "positive"], feature_selection="none", random_state=seed)
        explanation = lime.explain_instance(text, proba, labels=(1,), num_features=len(words), num_samples=samples)
        vocab = explanation.domain_mapper.indexed_string.inverse_vocab
        coef = dict(explanation.local_exp[1])
        package.append([coef[vocab.index(w)] for w in words])
    return Comparison(words=words, ours=np.array(ours), package=np.array(package), unspread=np.array(unspread))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    model = vader()
    for text in TEXTS:
        c = compare(text, samples=args.samples, seeds=args.seeds, model=model)
        print(f"\n{len(c.words)} words, {args.samples} samples, {args.seeds} seeds: {text!r}")
        print(f"{'word':>12} {'proxyx':>9} {'lime':>9} {'diff':>9} {'z':>6} | {'before':>9} {'z':>6}")
        for i, w in enumerate(c.words):
            o, p, u = c.ours[:, i].mean(), c.package[:, i].mean(), c.unspread[:, i].mean()
            print(f"{w:>12} {o:9.4f} {p:9.4f} {o - p:9.4f} {c.z_ours[i]:6.1f} | {u:9.4f} {c.z_unspread[i]:6.1f}")
        print(f"max |z| now {np.abs(c.z_ours).max():.1f}, before {np.abs(c.z_unspread).max():.1f}; "
              f"size of the coefficients against lime's: now {c.scale_ratio:.3f}, before "
              f"{np.abs(c.unspread.mean(0)).sum() / np.abs(c.package.mean(0)).sum():.3f}")


if __name__ == "__main__":
    main()
