#!/usr/bin/env python3
"""Time to the first token of `quarry ask` for the window test's question, in
new processes, the way a person (or a script) meets it:

- cold: nothing cached (a fresh cache folder each run) — what every
  `quarry ask` paid before the KV cache was kept between processes;
- after another question: a different question about the same library was
  answered by an earlier process (the saved cache shares the prompt's
  fixed prefix, and the passages both questions found);
- again: the same question asked by an earlier process.

Each scenario runs RUNS times, alternating; prints the medians of the
model's time to first token (prompt evaluation included), the retrieval
time, the prompt tokens and the tokens reused. Extra `quarry ask` flags
(e.g. --passage-sentences 3) follow `--`.

  benches/first_token.py --library /tmp/lib [--runs 3] [-- --passage-sentences 3]

The library must hold `samples/` (`quarry --library DIR add samples`).
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

QUESTION = "What should I check if the pump hums but does not turn?"
OTHER = "How often is the impeller seal replaced?"
HERE = os.path.dirname(os.path.abspath(__file__))


def ask(binary, library, cache, question, extra):
    env = dict(os.environ, QUARRY_CACHE_DIR=cache)
    out = subprocess.run(
        [binary, "--library", library, "ask", question, "--json", *extra],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)["timing"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", required=True)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "target", "debug", "quarry"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    results = {"cold": [], "after another question": [], "again": []}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as cache:
            results["cold"].append(ask(args.binary, args.library, cache, QUESTION, args.extra))
        with tempfile.TemporaryDirectory() as cache:
            ask(args.binary, args.library, cache, OTHER, args.extra)
            results["after another question"].append(ask(args.binary, args.library, cache, QUESTION, args.extra))
            results["again"].append(ask(args.binary, args.library, cache, QUESTION, args.extra))
    for name, timings in results.items():
        median = lambda key: statistics.median(t[key] for t in timings)
        print(
            f"{name:24} first token {median('time_to_first_token_ms') / 1000:5.2f} s"
            f"  search {median('retrieval_ms'):5.0f} ms"
            f"  prompt {median('prompt_tokens'):4.0f} tokens, {median('reused_prompt_tokens'):4.0f} reused"
            f"  ({len(timings)} runs)"
        )


if __name__ == "__main__":
    main()
