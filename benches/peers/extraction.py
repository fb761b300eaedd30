#!/usr/bin/env python3
"""Extraction speed and the sandbox's costs, on files made here.

  text PDF   pages/s of `quarry extract` on a 60-page text PDF, beside
             poppler's `pdftotext` on the same file (same run)
  OCR        pages/s of `quarry extract` on a 6-page scanned PDF and on a
             photo of a page (tesseract, one thread per page)
  spawn      the sandbox's cost per file: `quarry extract` of a small text
             file with the worker, and with no worker (parsed in-process),
             median of 30 runs each
  hostile    peak resident memory of the `quarry add` process itself
             (VmHWM, polled) while its worker parses a file that allocates
             without bound (the worker's 1 GiB cap ends it), and of the
             same add without that file

Usage: benches/peers/extraction   (the wrapper makes the virtualenv)
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUARRY = ROOT / "target/debug/quarry"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ("pump seal valve bearing motor impeller gasket pressure flow coupling "
         "alignment capacitor inspection maintenance schedule operator").split()


def text_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.add_font("DejaVu", fname=FONT)
    pdf.set_font("DejaVu", size=10)
    for p in range(pages):
        pdf.add_page()
        for line in range(48):
            words = [WORDS[(p * 7 + line * 3 + i) % len(WORDS)] for i in range(12)]
            pdf.text(20, 20 + line * 5.4, " ".join(words))
    pdf.output(str(path))


def page_image(number: int):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (1240, 1754), color=250)  # A4 at 150 dpi
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 28)
    for line in range(30):
        words = [WORDS[(number * 5 + line * 3 + i) % len(WORDS)] for i in range(8)]
        draw.text((100, 100 + line * 50), " ".join(words), fill=20, font=font)
    return img


def timed(args, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def peak_rss_kib(args, env) -> int:
    """The peak resident memory of the process itself (its VmHWM, read
    until it exits): not its children's, which `time`/wait4 would fold in."""
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while child.poll() is None:
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
            peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))
        except (OSError, AttributeError):
            pass
        time.sleep(0.02)
    return peak


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="quarry-extraction-"))
    rows = []
    # Text PDF.
    pdf = work / "text-60.pdf"
    text_pdf(pdf, 60)
    q = min(timed([str(QUARRY), "extract", "--json", str(pdf)]) for _ in range(3))
    p = min(timed(["pdftotext", str(pdf), str(work / "out.txt")]) for _ in range(3))
    rows.append({"area": "text pdf", "pages": 60, "quarry_pages_per_s": round(60 / q, 1),
                 "pdftotext_pages_per_s": round(60 / p, 1), "quarry_to_pdftotext": round(p / q, 3)})
    # OCR.
    scan = work / "scan-6.pdf"
    images = [page_image(n) for n in range(6)]
    images[0].save(scan, save_all=True, append_images=images[1:], resolution=150)
    t = timed([str(QUARRY), "extract", "--json", str(scan)])
    rows.append({"area": "ocr scanned pdf", "pages": 6, "pages_per_s": round(6 / t, 3), "seconds": round(t, 2)})
    photo = ROOT / "tests/data/fixtures/photo.png"
    t = timed([str(QUARRY), "extract", "--json", str(photo)])
    rows.append({"area": "ocr photo", "pages": 1, "pages_per_s": round(1 / t, 3), "seconds": round(t, 2)})
    # The sandbox's spawn cost.
    small = work / "note.txt"
    small.write_text("The seal kit fits the X200 pump.\n")
    env = dict(os.environ)
    with_worker = statistics.median(timed([str(QUARRY), "extract", str(small)], env) for _ in range(30))
    env_none = dict(env, QUARRY_EXTRACT_WORKER=str(work / "no-such-worker"))
    # (A worker named but missing is not used: parsing happens in-process.)
    in_process = statistics.median(timed([str(QUARRY), "extract", str(small)], env_none) for _ in range(30))
    rows.append({"area": "sandbox per file", "with_worker_ms": round(with_worker * 1000, 2),
                 "in_process_ms": round(in_process * 1000, 2),
                 "cost_ms": round((with_worker - in_process) * 1000, 2)})
    # Peak memory of the app beside a hostile parse.
    docs = work / "docs"
    docs.mkdir()
    (docs / "ok.txt").write_text("The boiler pressure should read between one and two bar.\n")
    models = ROOT / "models/all-MiniLM-L6-v2"
    env = dict(os.environ, QUARRY_EMBEDDER=str(models), QUARRY_EXTRACT_TEST_HOOKS="1")
    calm = peak_rss_kib([str(QUARRY), "--library", str(work / "lib-calm"), "add", str(docs)], env)
    (docs / "quarry-test-allocate.txt").write_text("allocates without bound")
    hostile = peak_rss_kib([str(QUARRY), "--library", str(work / "lib-hostile"), "add", str(docs), "--json"], env)
    rows.append({"area": "app peak memory", "add_without_hostile_file_mib": round(calm / 1024, 1),
                 "add_with_worker_hitting_1_gib_cap_mib": round(hostile / 1024, 1)})
    cpu = re.sub(r"\s+", " ", next((l.split(":", 1)[1] for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")).strip()
    print(json.dumps({"cpu": cpu}))
    for row in rows:
        print(json.dumps(row))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
