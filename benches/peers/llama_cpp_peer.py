"""llama.cpp's own Python binding (llama-cpp-python, built from its sdist) on
the same GGUF, prompt length, decode length and thread count as
benches/llm.rs. Prints one JSON line per model, like the Rust bench.

Usage: python llama_cpp_peer.py MODEL.gguf [MODEL.gguf ...]
Environment: PEER_PROMPT_TOKENS (500), PEER_DECODE_TOKENS (64), PEER_RUNS (3), PEER_THREADS (2).
"""
import json
import os
import statistics
import sys
import time

from llama_cpp import Llama

# The same paragraph benches/llm.rs repeats.
PARAGRAPH = (
    "The maintenance crew inspected pump station seven after the spring floods and found the "
    "impeller seal worn, the bearings dry and the start capacitor discoloured. They replaced the seal, greased "
    "the bearings and logged a follow-up visit for the capacitor. Water pressure on the suction side was below "
    "what the manual asks for, which explains the cavitation noise reported by the night shift. "
)

prompt_tokens = int(os.environ.get("PEER_PROMPT_TOKENS", 500))
decode_tokens = int(os.environ.get("PEER_DECODE_TOKENS", 64))
runs = int(os.environ.get("PEER_RUNS", 3))
threads = int(os.environ.get("PEER_THREADS", 2))

for path in sys.argv[1:]:
    llm = Llama(model_path=path, n_ctx=4096, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    ids = llm.tokenize((PARAGRAPH * (prompt_tokens // 40 + 2)).encode(), add_bos=False)[:prompt_tokens]
    prompt_rates, decode_rates, ttfts = [], [], []
    for run in range(runs):
        llm.reset()
        # A different first token each run, like the Rust bench: no prefix reuse.
        tokens = llm.tokenize(f"{run} ".encode(), add_bos=False) + ids
        started = time.perf_counter()
        first = None
        count = 0
        for _ in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
            count += 1
            if first is None:
                first = time.perf_counter()
            if count == decode_tokens:
                break
        ended = time.perf_counter()
        ttfts.append((first - started) * 1000)
        prompt_rates.append(len(tokens) / (first - started))
        decode_rates.append((count - 1) / (ended - first))
    print(json.dumps({
        "engine": "llama-cpp-python " + __import__("llama_cpp").__version__,
        "model": os.path.basename(path),
        "threads": threads,
        "prompt_tokens": prompt_tokens,
        "decode_tokens": decode_tokens,
        "prompt_tok_s": statistics.median(prompt_rates),
        "decode_tok_s": statistics.median(decode_rates),
        "ttft_ms": statistics.median(ttfts),
    }), flush=True)
