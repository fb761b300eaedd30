#!/usr/bin/env python3
"""Load on `quarry serve`, and its first streamed token against the CLI's.

Starts `quarry serve` on a free loopback port (it never talks to another
machine), then:
  1. requests per second and latency for POST /v1/search and
     POST /v1/embeddings with 1 and 8 concurrent clients, each cell bounded
     by --requests and --seconds; beside them, with one client, GET
     /v1/status (no work: the floor of HTTP, the token check and JSON) and
     embeddings of 32 texts in one request;
  2. time to the first streamed token of an answer through the server (the
     official `openai` client) and through `quarry chat` (as
     benches/first_answer.py times it), alternated, --runs each;
  3. the server's overhead on an answer: the client's time to first token
     minus what the answer itself records (retrieval + the model's time to
     first token), i.e. HTTP, JSON and the hop between threads.

  benches/serve_load.py --library /tmp/lib target/debug/quarry

The library must already hold documents (`quarry --library DIR add samples`).
Prints a JSON report on stdout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import http.client
import urllib.parse
import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from first_answer import QUESTION, first_answer_seconds  # noqa: E402

SEARCHES = [
    "how often is the seal replaced",
    "pump hums but does not turn",
    "warranty period",
    "cleaning the filter",
]
EMBED_TEXTS = ["the pump hums but does not turn", "replace the seal every six months"]


def start_server(binary, library, config):
    server = subprocess.Popen(
        [binary, "--library", library, "serve", "--port", "0", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = server.stdout.readline().strip()
    prefix = "quarry serve: listening on "
    if not line.startswith(prefix):
        server.kill()
        raise SystemExit(f"quarry serve did not start: {line!r}")
    base = line[len(prefix):]
    if not base.startswith("http://127.0.0.1:"):
        server.kill()
        raise SystemExit(f"refusing to load anything but loopback: {base}")
    token = subprocess.run(
        [binary, "--library", library, "serve", "--show-token", "--config", config],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return server, base, token


def load(base, token, route, bodies, clients, max_requests, max_seconds):
    """`clients` threads send requests (a GET when the body is None) until
    `max_requests` are done or `max_seconds` have passed; returns rps and
    latency percentiles."""
    latencies, errors, lock = [], [], threading.Lock()
    sent = [0]
    deadline = time.monotonic() + max_seconds

    url = urllib.parse.urlsplit(base)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(n):
        # One kept-alive connection per client, as a real client holds one.
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        i = n
        while True:
            with lock:
                if sent[0] >= max_requests or time.monotonic() >= deadline:
                    return
                sent[0] += 1
            started = time.monotonic()
            body = bodies[i % len(bodies)]
            method, payload = ("GET", None) if body is None else ("POST", json.dumps(body))
            connection.request(method, url.path + route, payload, headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.monotonic() - started
            with lock:
                (latencies if response.status == 200 else errors).append(elapsed)
            i += 1

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    return {
        "route": route, "clients": clients, "requests": len(latencies), "errors": len(errors),
        "seconds": round(wall, 2), "requests_per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(pick(0.5), 1), "p95_ms": round(pick(0.95), 1),
    }


def server_first_token(client, question):
    """Seconds to the first content delta, and the answer's own record."""
    started = time.monotonic()
    first, last = None, None
    for chunk in client.chat.completions.create(
        model="quarry", stream=True, messages=[{"role": "user", "content": question}]
    ):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic() - started
        last = chunk
    return first, last.model_extra["quarry"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--library", required=True)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=8.0)
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()
    config = os.path.join(args.library, ".serve-bench-config")
    report = {"load": [], "first_token": {"server": [], "cli": [], "server_overhead_ms": []}}
    server, base, token = start_server(args.binary, args.library, config)
    try:
        time.sleep(args.pause)  # the model loads as the server starts: not during the load
        cells = [
            ("search, k 10", "/search", [{"query": q, "k": 10} for q in SEARCHES], (1, 8)),
            ("embeddings, 1 text", "/embeddings", [{"input": t} for t in EMBED_TEXTS], (1, 8)),
            ("status, no work", "/status", [None], (1,)),
            ("embeddings, 32 texts", "/embeddings", [{"input": [EMBED_TEXTS[0]] * 32}], (1,)),
        ]
        for what, route, bodies, client_counts in cells:
            for clients in client_counts:
                cell = {"what": what, **load(base, token, route, bodies, clients, args.requests, args.seconds)}
                report["load"].append(cell)
                print(json.dumps(cell), file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    # Alternated, each on a fresh process (a server asked the same question
    # twice would reuse its KV cache; a new `quarry chat` cannot).
    for _ in range(args.runs):
        server, base, token = start_server(args.binary, args.library, config)
        try:
            client = openai.OpenAI(base_url=base, api_key=token, timeout=600, max_retries=0)
            time.sleep(args.pause)  # the server loads the model as it starts
            seconds, record = server_first_token(client, args.question)
        finally:
            server.terminate()
            server.wait()
        inside = record["timing"]["retrieval_ms"] + record["timing"]["time_to_first_token_ms"]
        report["first_token"]["server"].append(round(seconds, 3))
        report["first_token"]["server_overhead_ms"].append(round(seconds * 1000 - inside, 1))
        report["first_token"]["cli"].append(
            round(first_answer_seconds(args.binary, args.library, args.pause, args.question), 3)
        )
    ft = report["first_token"]
    ft["server_median"] = statistics.median(ft["server"])
    ft["cli_median"] = statistics.median(ft["cli"])
    ft["server_over_cli"] = round(ft["server_median"] / ft["cli_median"], 3)
    ft["server_overhead_median_ms"] = statistics.median(ft["server_overhead_ms"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
