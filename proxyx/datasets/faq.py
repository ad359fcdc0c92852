"""The Debian FAQ as a retrieval set: each question -> its gold passage (the answer section).

Source: Debian's ``debian-faq`` package (the text edition,
``usr/share/doc/debian/FAQ/debian-faq.en.txt.gz``; Copyright 1996-2021
Software in the Public Interest, verbatim-copying licence in the package's
``copyright`` file). ``fetch_faq`` runs ``apt-get download debian-faq``,
unpacks it with ``dpkg-deb -x`` and writes one JSON line per numbered section
to ``$PROXYX_DATA_DIR/debian_faq/faq.jsonl`` (default ``~/.cache/proxyx``),
with the package's text edition and licence next to it (``source_path``); the
text never enters the repository.

    items = load_faq()                     # every numbered section, in FAQ order
    queries = [x for x in items if x.is_question]
    pool = [x.answer for x in items]       # the passage pool; item i's gold passage is pool[i]

A section is ``3.1.2. Heading...`` at column 0 (the heading may wrap onto
more unindented lines), then its indented body up to the next section or
chapter. The body is the answer; subsections are their own items (a parent's
answer holds only its own text). Questions are the real FAQ headings, used
as queries unchanged; headings that are not questions (no "?") stay in
the pool as distractors but are not asked.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data import data_dir, unpack_deb
from ..errors import DataError

NAME = "debian_faq"
_PACKAGE = "debian-faq"
_TEXT = "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
_COPYRIGHT = "usr/share/doc/debian-faq/copyright"

_HEADING = re.compile(r"^(\d+(?:\.\d+)+)\.\s+(\S.*)$")
_CHAPTER = re.compile(r"^Chapter\s+\d+\.\s")


@dataclass(frozen=True)
class FaqItem:
    """One numbered section: ``id`` like ``"3.1.2"``, its heading, its answer text (paragraphs split by newlines)."""

    id: str
    question: str
    answer: str

    @property
    def is_question(self) -> bool:
        return "?" in self.question  # some end "?!" or "... just `stable'!"


def _clean(line: str) -> str:
    return " ".join(line.replace("\u00a0", " ").split())


def parse_faq(text: str) -> list[FaqItem]:
    """Sections of the FAQ's text edition, in order (the table of contents, indented, is skipped)."""
    lines = text.replace("\u00a0", " ").splitlines()
    start = next((i for i, ln in enumerate(lines) if _CHAPTER.match(ln)), None)
    if start is None:
        raise DataError("the Debian FAQ text has no 'Chapter 1.' line; is it debian-faq.en.txt from debian-faq?")
    items: list[FaqItem] = []
    sid, heading, paragraphs, in_heading = None, [], [[]], False

    def close() -> None:
        if sid is not None:
            answer = "\n".join(" ".join(p) for p in paragraphs if p)
            items.append(FaqItem(id=sid, question=" ".join(heading), answer=answer))

    for line in lines[start:]:
        m = _HEADING.match(line)
        if m or _CHAPTER.match(line):
            close()
            sid, heading, paragraphs = (m.group(1), [_clean(m.group(2))], [[]]) if m else (None, [], [[]])
            in_heading = bool(m)
        elif in_heading and line.strip() and not line[:1].isspace():
            heading.append(_clean(line))  # a wrapped heading
        elif not line.strip():
            in_heading = False
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            in_heading = False
            paragraphs[-1].append(_clean(line))
    close()
    items = [x for x in items if x.answer]
    if len(items) < 20:
        raise DataError(f"found only {len(items)} answered sections in the Debian FAQ text; the format has changed")
    return items


def faq_path() -> Path:
    return data_dir() / NAME / "faq.jsonl"


def source_path() -> Path:
    """The FAQ's text edition as shipped in the package (kept by ``fetch_faq``)."""
    return data_dir() / NAME / Path(_TEXT).name


def fetch_faq(*, deb: str | Path | None = None, force: bool = False) -> Path:
    """Download ``debian-faq`` and write ``faq.jsonl`` (+ ``copyright``); does nothing when it is there."""
    out = faq_path()
    if out.is_file() and source_path().is_file() and not force:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack_deb(_PACKAGE, Path(tmp), deb=deb, option="--faq-deb")
        source = root / _TEXT
        if not source.is_file():
            raise DataError(f"{deb} holds no {_TEXT}; is it the debian-faq package?")
        items = parse_faq(gzip.decompress(source.read_bytes()).decode("utf-8"))
        out.parent.mkdir(parents=True, exist_ok=True)
        copyright_file = root / _COPYRIGHT
        if copyright_file.is_file():
            (out.parent / "copyright").write_bytes(copyright_file.read_bytes())
        source_path().write_bytes(source.read_bytes())
        part = out.with_suffix(".part")
        with part.open("w", encoding="utf-8") as f:
            for x in items:
                f.write(json.dumps(asdict(x), ensure_ascii=False) + "\n")
        part.replace(out)
    return out


def load_faq() -> list[FaqItem]:
    """Every answered section of the installed FAQ, in FAQ order (``DataError`` when not installed)."""
    path = faq_path()
    if not path.is_file():
        raise DataError(f"data set {NAME!r} is not installed ({path} missing); run 'make install' or 'proxyx fetch-data'")
    try:
        return [FaqItem(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError, TypeError) as e:
        raise DataError(f"{path} is unreadable or malformed ({e}); run 'proxyx fetch-data --force'") from e
