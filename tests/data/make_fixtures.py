#!/usr/bin/env python3
"""Regenerate Quarry's binary test fixtures in tests/data/fixtures/.

What it writes:
    manual.pdf     3-page PDF with a plain text layer (core Helvetica font,
                   WinAnsi encoding, no subsetting), one topic per page.
    encrypted.pdf  1-page PDF encrypted with user password "secret"
                   (RC4 128-bit, so that the output is byte-for-byte stable;
                   AES would use random IVs).
    scanned.pdf    1-page PDF holding only a raster image of some text and no
                   text layer, as a scanner would produce.
    report.docx    Word document: headings, paragraphs and a 2x2 table.
    bomb.docx      Minimal DOCX-shaped ZIP whose word/document.xml inflates to
                   2,000,000,000 bytes (mostly spaces) from a ~2 MB file.
                   It stays below 2**31 - 1 bytes so no ZIP64 records are
                   needed.

How to run (from the repository root):
    python3 -m venv /tmp/fixvenv
    /tmp/fixvenv/bin/pip install fpdf2 pikepdf python-docx Pillow
    /tmp/fixvenv/bin/python tests/data/make_fixtures.py [--only NAME ...]

Required pip packages: fpdf2, pikepdf, python-docx, Pillow.
Written against fpdf2 2.8, pikepdf 10, python-docx 1.2, Pillow 13.

Output is deterministic: fixed creation dates, PDF IDs derived from content
(or qpdf's static test ID for the encrypted file), DOCX core properties and
ZIP entry timestamps pinned. Re-running with the same library versions gives
identical bytes. bomb.docx takes ~10-30 s to build because 2 GB has to go
through zlib once.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXED_DATE = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
ZIP_DATE = (2025, 1, 1, 12, 0, 0)

MANUAL_PAGES = [
    (
        "QP-7731 Pump Installation Guide",
        "The QP-7731 centrifugal pump must be mounted on a level concrete base "
        "at least 15 centimetres thick. Anchor bolts are tightened to 45 newton "
        "metres. Connect the suction line before the discharge line.",
    ),
    (
        "Maintenance",
        "Replace the impeller seal, part number ZX-4417-B, every 2000 operating "
        "hours. Lubricate the motor bearings with lithium grease each spring. "
        "A worn seal causes a slow drip beneath the pump housing.",
    ),
    (
        "Troubleshooting",
        "If the pump hums but does not turn, check the start capacitor. "
        "Cavitation sounds like gravel passing through the casing and means "
        "the suction pressure is too low.",
    ),
]


def _new_pdf(title: str):
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(title)
    pdf.set_author("Quarry test fixtures")
    pdf.set_creator("tests/data/make_fixtures.py")
    pdf.set_producer("tests/data/make_fixtures.py")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(25, 25, 25)
    return pdf


def _wrap(pdf, text: str, width: float) -> list[str]:
    """Greedy word wrap on spaces only, so hyphenated tokens such as
    ZX-4417-B are never split across lines."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and pdf.get_string_width(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def _write_page(pdf, heading: str, body: str) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 12)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for line in _wrap(pdf, body, width):
        # One cell per line: plain Tj text, left aligned, no word spacing tricks.
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")


def make_manual(path: Path) -> None:
    pdf = _new_pdf("QP-7731 Pump Installation Guide")
    for heading, body in MANUAL_PAGES:
        _write_page(pdf, heading, body)
    pdf.output(str(path))


def make_encrypted(path: Path) -> None:
    import pikepdf

    pdf = _new_pdf("Confidential salary table")
    _write_page(
        pdf,
        "Confidential salary table",
        "This document lists salaries for the engineering department and must "
        "not be indexed without the password.",
    )
    plain = bytes(pdf.output())
    with pikepdf.open(io.BytesIO(plain)) as doc:
        doc.save(
            str(path),
            encryption=pikepdf.Encryption(
                user="secret",
                owner="quarry-owner",
                R=3,
                aes=False,
                metadata=False,  # ignored below R=4; pikepdf rejects True here
            ),
            # qpdf's fixed test /ID: with RC4 (no random IVs) this makes the
            # encrypted bytes reproducible.
            static_id=True,
        )


def _scan_image():
    from PIL import Image, ImageDraw, ImageFont

    # A4 at 100 dpi, greyscale, like a cheap office scanner.
    img = Image.new("L", (827, 1169), color=250)
    draw = ImageDraw.Draw(img)
    title = ImageFont.load_default(size=40)
    body = ImageFont.load_default(size=26)
    draw.text((80, 100), "Delivery Note 5580", fill=20, font=title)
    lines = [
        "Received twelve pallets of ceramic tiles",
        "from Northbridge Supplies on 3 March.",
        "Two boxes arrived cracked and were returned.",
        "",
        "Signed: warehouse supervisor",
    ]
    y = 200
    for line in lines:
        draw.text((80, y), line, fill=30, font=body)
        y += 42
    # A faint border, as left by the scanner lid.
    draw.rectangle((20, 20, 806, 1148), outline=200, width=3)
    return img


def make_scanned(path: Path) -> None:
    pdf = _new_pdf("Scanned delivery note")
    pdf.add_page()
    # Image only: no font is ever selected, so the page has no text layer.
    pdf.image(_scan_image(), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.output(str(path))


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a ZIP with fixed entry timestamps (python-docx stamps the
    current time on every member)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def make_report(path: Path) -> None:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title = "Annual Sustainability Report"
    props.author = "Quarry test fixtures"
    props.last_modified_by = "Quarry test fixtures"
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.last_printed = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1

    document.add_heading("Annual Sustainability Report", level=1)
    document.add_paragraph(
        "In 2025 the Lisbon office moved entirely to renewable electricity "
        "supplied by offshore wind farms, cutting its emissions by 61 percent."
    )
    document.add_heading("Travel", level=2)
    document.add_paragraph(
        "Staff flights were replaced by overnight trains wherever the journey "
        "took less than nine hours."
    )
    table = document.add_table(rows=2, cols=2)
    table.style = "Table Grid"
    for r, row in enumerate([("Site", "Emissions"), ("Lisbon", "61% lower")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text

    buf = io.BytesIO()
    document.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))


BOMB_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
BOMB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
BOMB_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
    b'wordprocessingml/2006/main"><w:body>'
)
BOMB_TAIL = b"<w:p><w:r><w:t>decompression bomb</w:t></w:r></w:p></w:body></w:document>"
BOMB_TOTAL = 2_000_000_000  # bytes of word/document.xml once inflated


def make_bomb(path: Path) -> None:
    padding = BOMB_TOTAL - len(BOMB_HEAD) - len(BOMB_TAIL)
    chunk = b" " * (8 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in (
            ("[Content_Types].xml", BOMB_CONTENT_TYPES),
            ("_rels/.rels", BOMB_RELS),
        ):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, text)
        info = zipfile.ZipInfo("word/document.xml", date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        # Whitespace between <w:body> and the first <w:p> is ignorable XML.
        with zf.open(info, "w") as out:
            out.write(BOMB_HEAD)
            while padding:
                n = min(padding, len(chunk))
                out.write(chunk[:n])
                padding -= n
            out.write(BOMB_TAIL)


MAKERS = {
    "manual.pdf": make_manual,
    "encrypted.pdf": make_encrypted,
    "scanned.pdf": make_scanned,
    "report.docx": make_report,
    "bomb.docx": make_bomb,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", choices=sorted(MAKERS), help="build just these files"
    )
    args = parser.parse_args()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in args.only or MAKERS:
        target = FIXTURES / name
        MAKERS[name](target)
        print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
