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
model's time to first token (prompt evaluation included), the prompt's
speed, the retrieval time, the prompt tokens and the tokens reused. Extra
`quarry ask` flags (e.g. --passage-sentences 3) follow `--`.

--cpu haswell,auto runs every scenario with each of llama.cpp's CPU
variants in turn (QUARRY_LLAMA_CPU; `auto` = the one Quarry chooses for
this CPU), alternating within each round, so they share the machine's
moments alike.

  benches/first_token.py --library /tmp/lib [--runs 3] [--cpu haswell,auto] [-- --passage-sentences 3]

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


def ask(binary, library, cache, question, extra, cpu):
    env = dict(os.environ, QUARRY_CACHE_DIR=cache)
    env.pop("QUARRY_LLAMA_CPU", None)
    if cpu != "auto":
        env["QUARRY_LLAMA_CPU"] = cpu
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
    ap.add_argument("--cpu", default="auto", help="comma-separated CPU variants; auto = Quarry's choice")
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    cpus = args.cpu.split(",")
    scenarios = ["cold", "after another question", "again"]
    results = {(cpu, name): [] for cpu in cpus for name in scenarios}
    for _ in range(args.runs):
        for cpu in cpus:
            run = lambda cache, question: ask(args.binary, args.library, cache, question, args.extra, cpu)
            with tempfile.TemporaryDirectory() as cache:
                results[(cpu, "cold")].append(run(cache, QUESTION))
            with tempfile.TemporaryDirectory() as cache:
                run(cache, OTHER)
                results[(cpu, "after another question")].append(run(cache, QUESTION))
                results[(cpu, "again")].append(run(cache, QUESTION))
    for (cpu, name), timings in results.items():
        median = lambda key: statistics.median(t[key] for t in timings)
        print(
            f"{cpu:9} {name:24} first token {median('time_to_first_token_ms') / 1000:5.2f} s"
            f"  prompt {median('prompt_tokens_per_second'):5.1f} tok/s"
            f"  search {median('retrieval_ms'):5.0f} ms"
            f"  prompt {median('prompt_tokens'):4.0f} tokens, {median('reused_prompt_tokens'):4.0f} reused"
            f"  ({len(timings)} runs)"
        )


if __name__ == "__main__":
    main()
