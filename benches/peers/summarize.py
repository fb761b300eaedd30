#!/usr/bin/env python3
"""Tables of one benches/peers/run: Quarry beside each peer, with ratios.

A speed ratio is how many times faster Quarry is than the peer in the same
run (throughputs: Quarry / peer; latencies: peer / Quarry), so above 1 is a
win and below 1 a loss. Quality columns are shown side by side, not divided.
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]


def area(name):
    return [r for r in rows if r.get("area") == name]


def ratio(mine, theirs, higher_is_better=True):
    if not mine or not theirs:
        return "-"
    return f"{(mine / theirs) if higher_is_better else (theirs / mine):.2f}"


def embedding_tables(prefix, heading):
    embed = area(f"{prefix}embed")
    if embed:
        print(f"\nEmbedding{heading} (all-MiniLM-L6-v2, same texts; speed × = each Quarry engine in turn / peer)")
        print(f"  {'engine':46} {'batch':>5} {'chunks/s':>9} {'tokens/s':>9}  speed ×")
        for batch in sorted({r["batch"] for r in embed}):
            group = [r for r in embed if r["batch"] == batch]
            quarry = [r for r in group if r["engine"].startswith("quarry")]
            for r in group:
                x = " ".join(ratio(q["chunks_per_s"], r["chunks_per_s"]) for q in quarry) if r not in quarry else ""
                print(f"  {r['engine'][:46]:46} {batch:>5} {r['chunks_per_s']:9.1f} {r['tokens_per_s']:9.0f}  {x}")

    for r in area(f"{prefix}embed-agreement") + area(f"{prefix}pipeline-peers-agreement"):
        print(f"  {r['engine'][:46]:46} {r['texts']} texts: cosine with sentence-transformers "
              f"min {r['min_cosine_with_sentence_transformers']:.4f}, mean {r['mean_cosine_with_sentence_transformers']:.4f}")

    pipeline = area(f"{prefix}pipeline")
    if pipeline:
        print(f"\nquarry add{heading} end to end on SciFact abstracts, one file each, against encoders alone on the "
              "same passages (× = quarry add / that encoder)")
        peers = area(f"{prefix}pipeline-peers")
        for r in pipeline:
            print(f"  quarry add {r['precision']:4} {r['files']} files, {r['chunks']} passages: "
                  f"{r['end_to_end_chunks_per_s']:.1f} chunks/s; Quarry's encoder alone {r['encoder_alone_chunks_per_s']:.1f} "
                  f"(× {r['ratio']:.2f})")
            for p in peers:
                calls = "all in one call, batches of 32 by length" if p["batch"] == 0 else f"calls of {p['batch']}"
                print(f"    × {ratio(r['end_to_end_chunks_per_s'], p['chunks_per_s'])} against {p['engine']} "
                      f"({p['chunks_per_s']:.1f} chunks/s, {calls})")


embedding_tables("", "")
# benches/peers/run embed-avx2: Quarry's AVX2 kernel, PyTorch held to AVX2.
embedding_tables("avx2-", " as on a CPU without AVX-512 (int8 on its AVX2 kernel, PyTorch held to AVX2)")

ann = area("ann")
if ann:
    print("\nVector search (same vectors and queries; M 16, ef_construction 200, ef_search 96; "
          "speed × = Quarry / peer)")
    print(f"  {'engine':46} {'n':>7} {'build/s':>9} {'qps':>8} {'p99 ms':>7} {'recall@10':>9} {'build ×':>8} {'qps ×':>6}")
    for n in sorted({r["n"] for r in ann}):
        group = [r for r in ann if r["n"] == n]
        quarry = next((r for r in group if r["engine"].startswith("quarry")), None)
        for r in group:
            peer = quarry and r is not quarry
            bx = ratio(quarry["build_vectors_per_s"], r["build_vectors_per_s"]) if peer else ""
            qx = ratio(quarry["qps"], r["qps"]) if peer else ""
            print(f"  {r['engine'][:46]:46} {n:>7} {r['build_vectors_per_s']:9.0f} {r['qps']:8.0f} "
                  f"{r['query_ms_p99']:7.2f} {r['recall@10']:9.3f} {bx:>8} {qx:>6}")

bm25 = area("bm25")
if bm25:
    print("\nBM25 on SciFact (same corpus and queries; speed × = peer p50 / Quarry p50)")
    print(f"  {'engine':46} {'p50 ms':>7} {'p99 ms':>7} {'nDCG@10':>8} {'R@100':>6} {'speed ×':>8}")
    quarry = next((r for r in bm25 if r["engine"].startswith("quarry")), None)
    for r in bm25:
        x = ratio(quarry["query_ms_p50"], r["query_ms_p50"], higher_is_better=False) if quarry and r is not quarry else ""
        print(f"  {r['engine'][:46]:46} {r['query_ms_p50']:7.2f} {r['query_ms_p99']:7.2f} "
              f"{r['ndcg@10']:8.4f} {r['recall@100']:6.3f} {x:>8}")

windows = area("bm25-windows")
if windows:
    print("\nBM25 design study: ways of scoring a chunk (bm25s over text-splitter chunks; nDCG@10 by document)")
    for r in windows:
        print(f"  {r['engine'][:70]:70} {r['ndcg@10']:8.4f} {r['recall@100']:6.3f}")

metrics = area("metrics") + area("trec_eval")
if metrics:
    print("\nMetric cross-check on the same runs (Quarry's metric code vs pytrec_eval)")
    print(f"  {'scorer':46} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'MRR@10':>7}")
    for r in metrics:
        print(f"  {r['engine'][:46]:46} {r['ndcg@10']:8.4f} {r['recall@10']:7.4f} {r['recall@100']:7.4f} {r['mrr@10']:7.4f}")

library = area("library")
for r in library:
    print(f"\nLibrary at scale ({r['chunks']} chunks of {r['source']}; passage vectors synthetic, query vectors real)")
    print(f"  indexing without embedding: {r['index_s']:.1f} s ({r['index_chunks_per_s_without_embedding']:.0f} chunks/s), "
          f"peak RSS {r['peak_rss_indexing_mib']} MiB; reopen {r['reopen_s']:.1f} s, peak RSS {r['peak_rss_reopen_mib']} MiB")
    print(f"  BM25 (top 100) p50 {r['bm25_ms_p50']:.2f} ms, p99 {r['bm25_ms_p99']:.2f} ms; "
          f"fused search (k 10) p50 {r['fused_ms_p50']:.1f} ms, p99 {r['fused_ms_p99']:.1f} ms")

for r in area("ingest"):
    print(f"\nIngest: {r['pages']} PDF pages ({r['chunks']} chunks) in {r['seconds']:.1f} s: "
          f"{r['pages_per_s']:.2f} pages/s, {r['chunks_per_s']:.1f} chunks/s")

print(f"\n(raw lines in {sys.argv[1]})")
