"""Read a report page back with the standard library's HTML parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Unit:
    index: int
    value: float
    title: str
    text: str = ""
    attrs: dict = field(default_factory=dict)


@dataclass
class Figure:
    role: str
    model: str
    units: list[Unit] = field(default_factory=list)


@dataclass
class Article:
    id: str
    failed: bool
    figures: list[Figure] = field(default_factory=list)
    text: str = ""


class PageParser(HTMLParser):
    """Articles -> figures -> unit spans, plus every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.articles: list[Article] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._unit: Unit | None = None
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "article":
            self.articles.append(Article(a["data-id"], "failed" in (a.get("class") or "").split()))
        elif tag == "figure":
            self.articles[-1].figures.append(Figure(a["data-role"], a["data-model"]))
        elif tag == "span" and "u" in (a.get("class") or "").split():
            self._unit = Unit(int(a["data-i"]), float(a["data-v"]), a["title"], attrs=a)
            self.articles[-1].figures[-1].units.append(self._unit)
        elif tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag):
        if tag == "span":
            self._unit = None
        elif tag in ("script", "style"):
            self._in = None

    def handle_data(self, data):
        if self._unit is not None:
            self._unit.text += data
        elif self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data
        elif self.articles:
            self.articles[-1].text += data


def parse(page: str) -> PageParser:
    p = PageParser()
    p.feed(page)
    p.close()
    return p
