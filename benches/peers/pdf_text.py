#!/usr/bin/env python3
"""How well each PDF text extractor reads pages whose text is known.

For each fixture in tests/data/fixtures/layout-*.pdf (text in
layout.truth.json: one column, two columns drawn row by row, a running
header and footer on every page, hyphenated line ends, ligature glyphs),
three extractors on the same machine, same run:

  quarry    `quarry extract --json` (pdf-extract's glyphs + Quarry's layout)
  pdftotext poppler's tool (Debian poppler-utils), default mode
  pdfium    PDFium through pypdfium2 (the library pdfium-render would load)

Scores, per file and extractor:
  chars       1 - Levenshtein(text, truth) / len(truth), whitespace runs
              collapsed on both sides (line and paragraph breaks not counted)
  paragraphs  truth paragraphs found whole as one paragraph of the output
              (paragraphs split at blank lines, whitespace collapsed)
  furniture   lines of running header/footer left in the text (want 0)

Usage: benches/peers/pdf_text   (the wrapper makes the virtualenv)
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pypdfium2
from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/data/fixtures"
QUARRY = ROOT / "target/debug/quarry"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def quarry(pdf: Path) -> str:
    out = subprocess.run([str(QUARRY), "extract", "--json", str(pdf)], check=True, capture_output=True)
    return json.loads(out.stdout)["text"]


def pdftotext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True)
    return out.stdout.decode().replace("\f", "\n\n")


def pdfium(pdf: Path) -> str:
    doc = pypdfium2.PdfDocument(str(pdf))
    pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    return "\n\n".join(p.replace("\r\n", "\n") for p in pages)


def score(text: str, truth: dict) -> dict:
    expected = collapse(" ".join(truth["paragraphs"]))
    got = collapse(text)
    chars = 1 - Levenshtein.distance(got, expected) / len(expected)
    paragraphs = {collapse(p) for p in re.split(r"\n\s*\n", text)}
    whole = sum(collapse(p) in paragraphs for p in truth["paragraphs"])
    furniture = sum(
        1
        for line in text.splitlines()
        if line.strip() == truth["header"] or re.fullmatch(r"\s*Page \d+\s*", line)
    )
    return {
        "chars": round(chars, 4),
        "paragraphs": f"{whole}/{len(truth['paragraphs'])}",
        "furniture": furniture,
    }


def main() -> None:
    truth = json.loads((FIXTURES / "layout.truth.json").read_text())
    extractors = {"quarry": quarry, "pdftotext": pdftotext, "pdfium": pdfium}
    versions = {
        "pdftotext": subprocess.run(["pdftotext", "-v"], capture_output=True, text=True).stderr.splitlines()[0],
        "pdfium": f"pypdfium2 {pypdfium2.version.PYPDFIUM_INFO}, PDFium {pypdfium2.version.PDFIUM_INFO}",
    }
    print(json.dumps({"versions": versions}))
    for pdf in sorted(FIXTURES.glob("layout-*.pdf")):
        for name, extract in extractors.items():
            row = {"file": pdf.name, "extractor": name, **score(extract(pdf), truth)}
            print(json.dumps(row))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
