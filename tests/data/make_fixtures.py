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
    review.pptx    PowerPoint deck (python-pptx): 3 slides shown in an order
                   that differs from their part names, titles, bullets, a
                   table and speaker notes.
    budget.xlsx    Excel workbook (openpyxl): a table with a header row and
                   dates, and a notes sheet.
    budget.xls     The same workbook in the legacy binary format (xlwt).
    budget.ods     The same workbook as OpenDocument (odfpy), with the
                   repeated empty cells and rows ODF writes for gaps.
    minutes.odt    OpenDocument text (odfpy): headings and paragraphs.
    review.odp     OpenDocument presentation (odfpy): 2 slides with titles
                   and speaker notes.
    lighthouse.epub  EPUB 3 (zipfile): 2 chapters whose spine order differs
                   from their manifest order, one file name with a space.
    letter.rtf     RTF with a font table, an info group, hex and Unicode
                   escapes.
    order.eml      A mail message (Python's email package) with a CSV
                   attachment.
    archive.mbox   A mailbox of two messages.
    photo.png      A photo-like picture of printed text (Pillow, DejaVu
                   Sans, slightly rotated), for OCR.
    layout-onecol.pdf, layout-twocol.pdf
                   Two-page PDFs (fpdf2, DejaVu Sans embedded) whose text is
                   known: a running header and footer on every page, lines
                   broken inside hyphenated words, "fi"/"fl"/"ffi" drawn as
                   ligature glyphs; the second in two columns, drawn row by
                   row (left line, right line) so that content order is not
                   reading order. Their text, paragraph by paragraph in
                   reading order, is in layout.truth.json.

How to run (from the repository root):
    python3 -m venv /tmp/fixvenv
    /tmp/fixvenv/bin/pip install fpdf2 pikepdf python-docx Pillow
    /tmp/fixvenv/bin/python tests/data/make_fixtures.py [--only NAME ...]

Required pip packages: fpdf2, pikepdf, python-docx, Pillow, python-pptx,
openpyxl, xlwt, odfpy.
Written against fpdf2 2.8, pikepdf 10, python-docx 1.2, Pillow 13,
python-pptx 1.0.2, openpyxl 3.1.5, xlwt 1.3.0, odfpy 1.4.1.

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


def make_review_pptx(path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title = "Quarterly Review"
    deck.core_properties.created = FIXED_DATE.replace(tzinfo=None)
    deck.core_properties.modified = FIXED_DATE.replace(tzinfo=None)
    deck.core_properties.last_modified_by = "Quarry test fixtures"
    deck.core_properties.revision = 1
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = "Quarterly Review"
    first.placeholders[1].text = "Northbridge Supplies, third quarter"
    revenue = deck.slides.add_slide(deck.slide_layouts[1])
    revenue.shapes.title.text = "Revenue"
    body = revenue.placeholders[1].text_frame
    body.text = "Revenue grew 18 percent to 4.2 million euros"
    body.add_paragraph().text = "Tile sales doubled in Porto"
    revenue.notes_slide.notes_text_frame.text = "Mention that the Porto office opened in May."
    risks = deck.slides.add_slide(deck.slide_layouts[5])
    risks.shapes.title.text = "Risks"
    table = risks.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    for r, row in enumerate([("Supplier", "Lead time"), ("Northbridge", "six weeks")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    # Show "Risks" second: the order is the presentation's list, not the
    # part names (slide3.xml is shown before slide2.xml).
    ids = deck.slides._sldIdLst
    entries = list(ids)
    ids.remove(entries[2])
    ids.insert(1, entries[2])
    buf = io.BytesIO()
    deck.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))


BUDGET_ROWS = [
    ("Ceramic tiles", 1250.5, datetime(2025, 3, 3)),
    ("Delivery", 80, datetime(2025, 3, 4)),
    ("Grout and adhesive", 312.25, datetime(2025, 3, 10)),
]
BUDGET_NOTE = "Budget approved by the finance committee on 12 March."


def make_budget_xlsx(path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.created = FIXED_DATE.replace(tzinfo=None)
    book.properties.modified = FIXED_DATE.replace(tzinfo=None)
    sheet = book.active
    sheet.title = "Expenses"
    sheet.append(["Item", "Amount (EUR)", "Date"])
    for row in BUDGET_ROWS:
        sheet.append(list(row))
    notes = book.create_sheet("Notes")
    notes["B2"] = BUDGET_NOTE
    buf = io.BytesIO()
    book.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))


def make_budget_xls(path: Path) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Expenses")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for c, name in enumerate(["Item", "Amount (EUR)", "Date"]):
        sheet.write(0, c, name)
    for r, (item, amount, day) in enumerate(BUDGET_ROWS, start=1):
        sheet.write(r, 0, item)
        sheet.write(r, 1, amount)
        sheet.write(r, 2, day, dates)
    book.add_sheet("Notes").write(1, 1, BUDGET_NOTE)
    book.save(str(path))


def _odf_bytes(document) -> bytes:
    # odfpy stamps the current time into meta.xml: pin it.
    from odf.dc import Date
    from odf.meta import CreationDate

    for element in list(document.meta.childNodes):
        if element.qname[1] in ("creation-date", "date"):
            document.meta.removeChild(element)
    document.meta.addElement(CreationDate(text="2025-01-01T12:00:00"))
    document.meta.addElement(Date(text="2025-01-01T12:00:00"))
    buf = io.BytesIO()
    document.write(buf)
    return _normalise_zip(buf.getvalue())


def make_budget_ods(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()

    def text_cell(text, repeat=1):
        cell = TableCell(valuetype="string", numbercolumnsrepeated=repeat)
        cell.addElement(P(text=text))
        return cell

    expenses = Table(name="Expenses")
    header = TableRow()
    for name in ["Item", "Amount (EUR)", "Date"]:
        header.addElement(text_cell(name))
    expenses.addElement(header)
    for item, amount, day in BUDGET_ROWS:
        row = TableRow()
        row.addElement(text_cell(item))
        number = TableCell(valuetype="float", value=amount)
        number.addElement(P(text=str(amount)))
        row.addElement(number)
        date = TableCell(valuetype="date", datevalue=day.strftime("%Y-%m-%d"))
        date.addElement(P(text=day.strftime("%Y-%m-%d")))
        row.addElement(date)
        expenses.addElement(row)
    doc.spreadsheet.addElement(expenses)
    notes = Table(name="Notes")
    # Gaps as ODF writes them: a repeated empty row, then a row whose
    # first cells are a repeated empty run.
    notes.addElement(TableRow(numberrowsrepeated=1))
    row = TableRow()
    row.addElement(TableCell(numbercolumnsrepeated=1))
    row.addElement(text_cell(BUDGET_NOTE))
    notes.addElement(row)
    far = TableRow(numberrowsrepeated=1048000)
    far.addElement(TableCell(numbercolumnsrepeated=16384))
    notes.addElement(far)
    doc.spreadsheet.addElement(notes)
    path.write_bytes(_odf_bytes(doc))


def make_minutes_odt(path: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Board Minutes"))
    doc.text.addElement(P(text="The board met on 14 April 2025 in the Lisbon office."))
    doc.text.addElement(H(outlinelevel=2, text="Decisions"))
    doc.text.addElement(
        P(text="The board approved the purchase of two electric delivery vans from Voltera.")
    )
    path.write_bytes(_odf_bytes(doc))


def make_review_odp(path: Path) -> None:
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout, PageLayoutProperties
    from odf.text import P

    doc = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    layout.addElement(PageLayoutProperties(pagewidth="28cm", pageheight="21cm"))
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Default", pagelayoutname=layout)
    doc.masterstyles.addElement(master)

    def frame(cls, lines, y):
        from odf.namespaces import PRESENTATIONNS

        box = Frame(width="24cm", height="3cm", x="2cm", y=y)
        box.setAttrNS(PRESENTATIONNS, "class", cls)
        text = TextBox()
        for line in lines:
            text.addElement(P(text=line))
        box.addElement(text)
        return box

    slides = [
        ("Harbour Project", ["Status update for the harbour wall repair"], "Thank the divers from Cascais."),
        ("Budget", ["Spent 1.1 million of 1.6 million euros", "Concrete costs rose 9 percent"], ""),
    ]
    for number, (title, body, notes) in enumerate(slides, start=1):
        page = Page(name=f"page{number}", masterpagename=master)
        page.addElement(frame("title", [title], "1cm"))
        page.addElement(frame("outline", body, "5cm"))
        if notes:
            note = Notes()
            note.addElement(frame("notes", [notes], "12cm"))
            page.addElement(note)
        doc.presentation.addElement(page)
    path.write_bytes(_odf_bytes(doc))


EPUB_CONTAINER = (
    '<?xml version="1.0"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="OEBPS/content.opf" '
    'media-type="application/oebps-package+xml"/></rootfiles></container>'
)
EPUB_PACKAGE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
    '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:identifier id="id">urn:uuid:0b7e1f56-7d7c-4c1e-9a55-quarry</dc:identifier>'
    "<dc:title>The Lighthouse Keeper</dc:title><dc:language>en</dc:language>"
    "</metadata><manifest>"
    '<item id="rescue" href="text/chapter%202.xhtml" media-type="application/xhtml+xml"/>'
    '<item id="storm" href="text/chapter1.xhtml" media-type="application/xhtml+xml"/>'
    '<item id="style" href="style.css" media-type="text/css"/>'
    '</manifest><spine><itemref idref="storm"/><itemref idref="rescue"/></spine></package>'
)


def _chapter(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
        f"{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )


def make_lighthouse_epub(path: Path) -> None:
    entries = [
        ("mimetype", "application/epub+zip", zipfile.ZIP_STORED),
        ("META-INF/container.xml", EPUB_CONTAINER, zipfile.ZIP_DEFLATED),
        ("OEBPS/content.opf", EPUB_PACKAGE, zipfile.ZIP_DEFLATED),
        ("OEBPS/style.css", "p { margin: 0 }", zipfile.ZIP_DEFLATED),
        (
            "OEBPS/text/chapter1.xhtml",
            _chapter(
                "Chapter One: The Storm",
                ["The storm broke the lamp of the Farol de Santa Marta at midnight."],
            ),
            zipfile.ZIP_DEFLATED,
        ),
        (
            "OEBPS/text/chapter 2.xhtml",
            _chapter(
                "Chapter Two: The Rescue",
                ["At dawn the keeper rowed out to the trawler Maria Luisa and saved its crew of six."],
            ),
            zipfile.ZIP_DEFLATED,
        ),
    ]
    with zipfile.ZipFile(path, "w") as book:
        for name, text, compression in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            book.writestr(info, text)


LETTER_RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman Times New Roman;}}"
    r"{\colortbl;\red0\green0\blue0;}{\*\generator Quarry fixtures;}"
    r"{\info{\title Hidden metadata title}{\author Nobody}}"
    "\n"
    r"\pard\f0\fs24 Dear Ms Ferreira,\par"
    "\n"
    r"Your order of ceramic tiles for the caf\'e9 in Set\u250?bal will ship on"
    r" \b Friday 7 March\b0 . The total is 1\~250 \u8364? including delivery.\par"
    "\n"
    r"Kind regards,\line Northbridge Supplies\par}"
)


def make_letter_rtf(path: Path) -> None:
    path.write_bytes(LETTER_RTF.encode("ascii"))


def _message(subject: str, sender: str, day: int, body: str, attachment=None):
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = sender
    message["To"] = "orders@northbridge.example"
    message["Subject"] = subject
    message["Date"] = f"Mon, {day:02d} Mar 2025 09:30:00 +0000"
    message["Message-ID"] = f"<{day}.fixture@northbridge.example>"
    message.set_content(body)
    if attachment:
        name, data = attachment
        message.add_attachment(data.encode(), maintype="text", subtype="csv", filename=name)
    return message


def make_order_eml(path: Path) -> None:
    message = _message(
        "Tile order for the Setubal cafe",
        "Ana Ferreira <ana@cafe-setubal.example>",
        3,
        "Please deliver the blue azulejo tiles before the cafe reopens on 20 March.",
        ("prices.csv", "Item,Price\nBlue azulejo tile,4.80\nWhite border tile,2.10\n"),
    )
    path.write_bytes(bytes(message))


def make_archive_mbox(path: Path) -> None:
    first = _message(
        "Invoice 2025-114",
        "Accounts <accounts@northbridge.example>",
        5,
        "Invoice 2025-114 for 1,250 euros is due on 4 April.",
    )
    second = _message(
        "Delivery delayed",
        "Logistics <logistics@northbridge.example>",
        6,
        "The lorry from Aveiro broke down; delivery moves to Monday.",
    )
    out = io.BytesIO()
    for message in (first, second):
        out.write(b"From MAILER-DAEMON Mon Mar  3 09:30:00 2025\n")
        out.write(bytes(message).replace(b"\nFrom ", b"\n>From "))
        out.write(b"\n")
    path.write_bytes(out.getvalue())


def make_photo_png(path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    # A page photographed at an angle on a grey desk, roughly.
    page = Image.new("L", (1400, 700), color=235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 44)
    lines = [
        "Warranty card",
        "The heat pump model HX-90 carries",
        "a five year warranty on the compressor.",
        "Register within 30 days of purchase.",
    ]
    for i, line in enumerate(lines):
        draw.text((70, 60 + i * 80), line, fill=25, font=font)
    photo = Image.new("L", (1500, 800), color=120)
    photo.paste(page.rotate(1.5, expand=False, fillcolor=120), (50, 50))
    photo.save(path, format="PNG", optimize=True)


LAYOUT_HEADER = "Northbridge Supplies - Field Manual"
# '|' marks where a word may be hyphenated at a line end.
LAYOUT_PARAGRAPHS = [
    "Before the pump is installed, the base must be levelled and the anchor bolts "
    "fitted. An in|effi|cient align|ment between motor and pump shaft wears the "
    "coupling within weeks and raises the noise level noticeably.",
    "The suction line should rise steadily towards the pump so that no air pocket "
    "can form. A float switch in the tank stops the motor when the water level "
    "falls below the intake, which protects the mechanical seal from running dry.",
    "Inspect the impeller every spring. Deposits on the vanes reduce the flow and "
    "the effi|ciency of the pump; they are removed with a soft brush and clean "
    "water, never with a scraper or a solvent that could attack the coating.",
    "If the motor hums but the shaft does not turn, the start capacitor has usu|ally "
    "failed. Replace it with a capacitor of the same rating, printed on the label "
    "inside the terminal box, and check the wiring for signs of overheating.",
    "Record every inspection in the maintenance log: the date, the operating hours, "
    "the parts replaced and the name of the technician. The log is the first "
    "document a service engineer will ask for after a break|down.",
    "Spare parts are ordered from Northbridge Supplies by part number. Keep one "
    "seal kit, one capacitor and one set of gaskets on site, so that the most "
    "common repairs never wait for a delivery.",
]


def _layout_lines(paragraph: str, width: float, measure) -> list[str]:
    # Greedy wrapping at `width`; a word that does not fit is split at a
    # '|' (with a hyphen) when its first part does.
    lines, line = [], ""
    for word in paragraph.split():
        candidate = f"{line} {word}".strip()
        if measure(candidate.replace("|", "")) <= width:
            line = candidate
            continue
        parts = word.split("|")
        split = None
        for k in range(len(parts) - 1, 0, -1):
            head = "".join(parts[:k]) + "-"
            if measure(f"{line} {head}".strip()) <= width:
                split = k
                break
        if split is not None:
            lines.append(f"{line} {''.join(parts[:split])}-".strip())
            line = "|".join(parts[split:])
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return [l.replace("|", "") for l in lines]


def _ligatures(text: str) -> str:
    return text.replace("ffi", "\ufb03").replace("fi", "\ufb01").replace("fl", "\ufb02")


def _layout_pdf(path: Path, columns: int) -> None:
    pdf = _new_pdf("Field manual")
    pdf.add_font("DejaVu", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("DejaVu", size=10)
    measure = pdf.get_string_width
    gap = 10
    width = (160 - gap * (columns - 1)) / columns
    # Each column's lines, paragraphs separated by a blank line.
    lines: list[str] = []
    for paragraph in LAYOUT_PARAGRAPHS:
        lines += _layout_lines(paragraph, width, measure) + [""]
    # Few enough lines per page that the text needs two pages.
    per_column = 14 if columns == 2 else 16
    per_page = per_column * columns
    pages = [lines[i : i + per_page] for i in range(0, len(lines), per_page)]
    for number, page_lines in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("DejaVu", size=8)
        pdf.text(25, 15, LAYOUT_HEADER)
        pdf.text(100, 285, f"Page {number}")
        pdf.set_font("DejaVu", size=10)
        cols = [page_lines[c * per_column : (c + 1) * per_column] for c in range(columns)]
        # Row by row: the left column's line, then the right one's.
        for row in range(per_column):
            for c, col in enumerate(cols):
                if row < len(col) and col[row]:
                    pdf.text(25 + c * (width + gap), 30 + row * 5.5, _ligatures(col[row]))
    pdf.output(str(path))


def make_layout_onecol(path: Path) -> None:
    _layout_pdf(path, 1)


def make_layout_twocol(path: Path) -> None:
    _layout_pdf(path, 2)


def make_layout_truth(path: Path) -> None:
    import json

    truth = [p.replace("|", "") for p in LAYOUT_PARAGRAPHS]
    path.write_text(json.dumps({"header": LAYOUT_HEADER, "paragraphs": truth}, indent=1) + "\n")


MAKERS = {
    "manual.pdf": make_manual,
    "encrypted.pdf": make_encrypted,
    "scanned.pdf": make_scanned,
    "report.docx": make_report,
    "bomb.docx": make_bomb,
    "review.pptx": make_review_pptx,
    "budget.xlsx": make_budget_xlsx,
    "budget.xls": make_budget_xls,
    "budget.ods": make_budget_ods,
    "minutes.odt": make_minutes_odt,
    "review.odp": make_review_odp,
    "lighthouse.epub": make_lighthouse_epub,
    "letter.rtf": make_letter_rtf,
    "order.eml": make_order_eml,
    "archive.mbox": make_archive_mbox,
    "photo.png": make_photo_png,
    "layout-onecol.pdf": make_layout_onecol,
    "layout-twocol.pdf": make_layout_twocol,
    "layout.truth.json": make_layout_truth,
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
