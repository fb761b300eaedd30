#!/usr/bin/env python3
"""Generate reference sentence embeddings with the real sentence-transformers library.

Loads a local sentence-transformers model folder (e.g. models/all-MiniLM-L6-v2)
on CPU, encodes a fixed list of varied sentences with normalize_embeddings=True,
and writes JSON that Quarry's Rust embedding code is tested against:

    {"model": "sentence-transformers/all-MiniLM-L6-v2",
     "sentence_transformers_version": "...", "torch_version": "...",
     "max_seq_length": 256, "normalized": true,
     "items": [{"text": "...", "embedding": [384 floats, 7 decimals]}, ...]}

The sentences cover short input, punctuation and numbers, accents/unicode,
code, mixed case, a multi-sentence paragraph, and a long text of well over
256 word pieces, so truncation at max_seq_length is exercised.  Each sentence
is encoded on its own (batch size 1), so no padding is involved.

Run from the repository root (needs torch and sentence-transformers; no network):

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
        python3 tests/data/make_st_reference.py models/all-MiniLM-L6-v2 tests/data/st_reference.json

With no output path the JSON goes to stdout.
"""

import json
import sys

LONG_TEXT = (
    "The quarry opened in the spring of 1987 on the eastern slope of the valley, where a thick bed of "
    "granite lies close to the surface beneath a thin layer of clay and gravel. In the first years the "
    "operators worked a single bench with two excavators, one wheel loader and a fleet of rented haul "
    "trucks, and most of the stone was crushed on site into aggregate for local road building. As demand "
    "grew, the company added a second crushing line, a washing plant for sand, and a weighbridge at the "
    "gate so that every truck leaving the site could be recorded automatically. Maintenance was always the "
    "hardest part of the job. Crushers wear their jaws and liners quickly when the rock is abrasive, "
    "conveyor belts tear when a sharp boulder slips past the grizzly screen, and hydraulic hoses fail "
    "without warning on cold winter mornings. The maintenance team kept paper logbooks for decades, "
    "writing down every repair, every replaced bearing and every oil change, until a new manager insisted "
    "on moving the records into a searchable database. That project took almost two years, because the "
    "handwriting was often hard to read, the part numbers had changed several times, and the same machine "
    "was sometimes called by three different names. Once the records were digital, engineers could finally "
    "ask useful questions: which pumps failed most often, how long a set of crusher liners really lasted, "
    "and whether the expensive synthetic lubricant actually reduced downtime compared with the cheaper "
    "mineral oil. The answers surprised everyone. The cheapest bearings turned out to cost the most over "
    "their lifetime, the night shift reported problems earlier than the day shift, and nearly a third of "
    "all unplanned stops could be traced to a single poorly designed chute above the secondary crusher. "
    "Redesigning that chute cost less than one week of lost production, and it paid for itself within a "
    "month. Today the quarry produces about four hundred thousand tonnes of stone every year, employs "
    "forty-two people, and plans to restore the oldest benches as a wetland for birds and amphibians when "
    "extraction there is finished."
)

SENTENCES = [
    "This is an example sentence",
    "Each sentence is converted",
    "Hi",
    "Replace the seal (part ZX-4417-B) every 2,000 hours.",
    "Café São Paulo — naïve façade",
    "The conveyor belt stopped because the drive motor overheated.",
    "How do I reset the pressure sensor on pump 3?",
    'fn main() { println!("hello"); }',
    "ThE QuIcK BrOwN FoX JuMpS oVeR tHe LaZy DoG",
    "The inspection found no cracks. However, the left bearing was noisy and ran hot. "
    "We replaced it on Tuesday; the machine has run normally since then.",
    "Quarterly safety meeting notes are stored in the shared drive.",
    LONG_TEXT,
]


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(f"usage: {sys.argv[0]} MODEL_DIR [OUTPUT.json]")
    model_dir = sys.argv[1]

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    items = []
    for text in SENTENCES:
        emb = model.encode([text], batch_size=1, normalize_embeddings=True)[0]
        items.append({"text": text, "embedding": [round(float(x), 7) for x in emb]})

    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "sentence_transformers_version": sentence_transformers.__version__,
        "torch_version": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "normalized": True,
        "items": items,
    }
    text = json.dumps(out, ensure_ascii=False, indent=1) + "\n"
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
