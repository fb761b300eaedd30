#!/usr/bin/env python3
"""Time to the first byte of an answer in `quarry chat`, as a person feels it.

Starts `quarry chat` on a library, waits PAUSE seconds (a person typing the
first question), sends the question and times the first byte of the answer
on stdout. Several binaries (e.g. before and after a change) are run
alternately on the same library, RUNS times each, and the medians printed.

  benches/first_answer.py --library /tmp/lib target/debug/quarry /tmp/quarry-before

The library must already hold the documents (`quarry --library DIR add
samples`); every run adds one conversation to it.
"""
import argparse
import os
import statistics
import subprocess
import time

QUESTION = "What should I check if the pump hums but does not turn?"


def first_answer_seconds(binary, library, pause, question):
    chat = subprocess.Popen(
        [binary, "--library", library, "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(pause)
    sent = time.monotonic()
    chat.stdin.write(question.encode() + b"\n")
    chat.stdin.flush()
    if not os.read(chat.stdout.fileno(), 1):
        raise SystemExit(f"{binary} wrote no answer")
    seconds = time.monotonic() - sent
    chat.stdin.write(b"/quit\n")
    chat.stdin.flush()
    chat.stdout.read()
    chat.wait()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--library", required=True)
    parser.add_argument("--pause", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()
    times = {b: [] for b in args.binaries}
    for _ in range(args.runs):
        for binary in args.binaries:
            times[binary].append(
                first_answer_seconds(binary, args.library, args.pause, args.question)
            )
    for binary, seconds in times.items():
        runs = " ".join(f"{s:.2f}" for s in seconds)
        print(f"{binary}: median {statistics.median(seconds):.2f} s ({runs})")


if __name__ == "__main__":
    main()
