"""Write the JSON Schema of proxyx's documents into docs/report-schema.md (generated from proxyx.results).

    .venv/bin/python scripts/gen_report_schema.py          # rewrite the generated section
    .venv/bin/python scripts/gen_report_schema.py --check  # exit 1 if the doc is out of date
    .venv/bin/python scripts/gen_report_schema.py --doc OTHER.md [--check]

Only the text between the two markers is replaced; the prose around it is kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from proxyx.results import schema_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "report-schema.md"
BEGIN = "<!-- BEGIN GENERATED SCHEMA: scripts/gen_report_schema.py -->\n"
END = "<!-- END GENERATED SCHEMA -->\n"


def generated_section(text: str) -> str:
    """The text between the markers of ``text`` ("" when they are missing)."""
    if BEGIN not in text or END not in text:
        return ""
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def main(argv: list[str]) -> int:
    doc = Path(argv[argv.index("--doc") + 1]) if "--doc" in argv else DOC
    text = doc.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{doc}: the markers {BEGIN.strip()} and {END.strip()} are missing", file=sys.stderr)
        return 2
    fresh = schema_markdown()
    if "--check" in argv:
        if generated_section(text) != fresh:
            print(f"{doc} is out of date: run .venv/bin/python scripts/gen_report_schema.py", file=sys.stderr)
            return 1
        return 0
    head, rest = text.split(BEGIN, 1)
    doc.write_text(head + BEGIN + fresh + END + rest.split(END, 1)[1], encoding="utf-8")
    print(f"{doc}: schema section regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
