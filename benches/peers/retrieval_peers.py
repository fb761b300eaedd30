#!/usr/bin/env python3
"""Peer libraries measured on the inputs Quarry's Rust benches write.

Prints one JSON object per line on stdout and nothing else there; progress
goes to stderr. Install with benches/peers/retrieval-requirements.txt.

  embed      --model DIR --texts FILE.json [--threads 2] [--runs 3] [--area embed]
             [--engines sentence-transformers,onnxruntime]
             sentence-transformers (PyTorch, CPU) and ONNX Runtime on an int8
             export of the same model: chunks/s, tokens/s, and the export's
             cosine with sentence-transformers; the engine's name says which
             kernels PyTorch's ATen dispatches to (ATEN_CPU_CAPABILITY holds
             them to e.g. AVX2)
  bm25       --beir DIR [--split test] [--runs 3] [--engines bm25s,rank-bm25]
             index time, per-query latency, nDCG@10 and Recall@100
  trec-eval  --qrels QRELS.tsv --run RUN.tsv
             pytrec_eval's nDCG@10 / Recall@10 / Recall@100 and BEIR's MRR@10
  ann        --vectors DIR [--threads 2] [--engines hnswlib,faiss]
             HNSW build rate, single-thread query latency, recall vs exact
  bm25-windows --beir DIR --tokenizer TOKENIZER.json [--split test]
             the design study behind Quarry's lexical index: BM25 (bm25s,
             Lucene's formula, Quarry's analysis) over text-splitter chunks
             sized as Quarry sizes them, each chunk scored alone, with its
             document, or with a window of neighbours, at tantivy's k1/b and
             Pyserini's; nDCG@10 by document

Conventions shared with Quarry's own eval (crates/core/src/eval): latency percentiles are
nearest-rank; metric means are over every judged query, a query the run does
not answer counting 0 (pytrec_eval alone would leave it out).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

# Everything is local: a model folder, a BEIR folder, vector files. Never let a
# library reach for the network (or a hub cache) behind our back.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


# stdout carries only our JSON lines. Libraries print too (progress bars,
# warnings, C++ code writing to fd 1 directly), so main() moves fd 1 to
# stderr and keeps a private duplicate of the real stdout for emit().
_out = sys.stdout


def emit(obj):
    print(json.dumps(obj), file=_out, flush=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def percentile(samples, p):
    """Nearest rank, like crates/core/src/eval's Percentiles, so the two compare directly."""
    s = sorted(samples)
    return s[min(max(math.ceil(p / 100 * len(s)), 1), len(s)) - 1]


def latency_fields(ms):
    return {"query_ms_p50": percentile(ms, 50), "query_ms_p99": percentile(ms, 99)}


# ----------------------------------------------------------------- embed

def cmd_embed(a):
    # The fast tokenizer batches on its own rayon pool; hold it to the same
    # thread budget as torch (it reads this when the pool first starts).
    os.environ["RAYON_NUM_THREADS"] = str(a.threads)
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(a.threads)
    spec = json.loads(Path(a.texts).read_text(encoding="utf-8"))
    texts, batches = spec["texts"], spec.get("batches", [1, 16, 64])
    model = SentenceTransformer(a.model, device="cpu")
    # Word pieces as the model sees them: with [CLS]/[SEP], cut at max_seq_length.
    ids = model.tokenizer(texts, add_special_tokens=True, truncation=True,
                          max_length=model.max_seq_length)["input_ids"]
    tokens = sum(len(x) for x in ids)
    engine = (f"sentence-transformers {sentence_transformers.__version__} "
              f"(torch {torch.__version__.split('+')[0]}, {torch.backends.cpu.get_cpu_capability()})")

    def st_encode(batch, size=None):
        return model.encode(batch, batch_size=size or len(batch), normalize_embeddings=True,
                            show_progress_bar=False)

    engines = [(engine, st_encode)]
    if "onnxruntime" in a.engines.split(","):
        ort_encode, ort_engine = onnx_int8_encoder(model, Path(a.texts).parent / "onnx", a.threads)
        # The int8 export's own quality, as Quarry's int8 is held to a bar:
        # cosine with sentence-transformers' f32 vectors on the same texts.
        import numpy as np
        reference, quantized = st_encode(texts), np.concatenate([ort_encode(texts[i:i + 16]) for i in range(0, len(texts), 16)])
        cosines = (reference * quantized).sum(axis=1)
        emit({"area": f"{a.area}-agreement", "engine": ort_engine, "texts": len(texts),
              "min_cosine_with_sentence_transformers": float(cosines.min()),
              "mean_cosine_with_sentence_transformers": float(cosines.mean())})
        engines.append((ort_engine, ort_encode))

    for name, encode in engines:
        for b in batches:
            def one_pass():
                # One encode call per slice of b texts, as benches/embed.rs
                # calls embed(): the same batches, so the same padding
                # (encode() would otherwise length-sort texts across batches).
                # b = 0: every text in one call, batched as the engine is
                # best used on texts of mixed lengths (sorted by length,
                # batches of 32: sentence-transformers' default), so little
                # is padded: the fair rate against a whole folder's passages.
                started = time.perf_counter()
                if b == 0:
                    encode(texts, 32)
                else:
                    for i in range(0, len(texts), b):
                        encode(texts[i:i + b])
                return time.perf_counter() - started

            one_pass()  # warm-up: lazy init, allocator, primitive caches
            secs = statistics.median(one_pass() for _ in range(a.runs))
            log(f"embed {name} batch {b}: {secs:.3f}s")
            emit({"area": a.area, "engine": name, "batch": b, "texts": len(texts),
                  "tokens": tokens, "chunks_per_s": len(texts) / secs,
                  "tokens_per_s": tokens / secs})


def onnx_int8_encoder(model, folder, threads):
    """ONNX Runtime on an int8 export of `model` (a SentenceTransformer with
    mean pooling), made here the way ONNX Runtime documents it for BERT:
    export the transformer (torch.onnx, opset 17), fuse it with
    onnxruntime.transformers' BERT optimizer (attention, skip layer norm,
    bias GELU), then quantize it dynamically (weights int8 per output
    channel, activations uint8 at run time: MatMulInteger /
    DynamicQuantizeMatMul, VNNI kernels where the CPU has them). Per
    channel because per tensor (the default) left it at cosine 0.94 with
    sentence-transformers on the bench's texts, below the 0.99 bar Quarry's
    own int8 is held to; per channel measured 0.988. Kept in `folder`
    between runs.
    Returns encode(texts) -> unit vectors, and the engine's name."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    folder.mkdir(parents=True, exist_ok=True)
    exported, fused, int8 = folder / "model.onnx", folder / "model-fused.onnx", folder / "model-int8.onnx"
    bert = model[0].auto_model.eval()
    tokenizer = model.tokenizer
    if not int8.exists():
        started = time.perf_counter()

        class LastHidden(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state

        sample = tokenizer(["a sample text", "another, longer sample text"], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
        axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
        with torch.no_grad():
            torch.onnx.export(LastHidden(bert), tuple(sample[n] for n in names), str(exported),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        config = bert.config
        optimize_model(str(exported), model_type="bert", num_heads=config.num_attention_heads,
                       hidden_size=config.hidden_size).save_model_to_file(str(fused))
        # The fused operators (com.microsoft domain) have no ONNX shape
        # inference: their outputs are float, as the quantizer is told.
        quantize_dynamic(str(fused), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        log(f"onnx int8 export: {time.perf_counter() - started:.1f}s")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}

    def run(batch):
        enc = tokenizer(batch, padding=True, truncation=True, max_length=model.max_seq_length, return_tensors="np")
        feed = {k: v.astype(np.int64) for k, v in enc.items() if k in wanted}
        hidden = session.run(None, feed)[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def encode(batch, size=None):
        # Batches of `size` texts of similar length, as sentence-transformers
        # batches (one batch, unsorted, when size is the whole call).
        size = size or len(batch)
        order = sorted(range(len(batch)), key=lambda i: -len(batch[i])) if size < len(batch) else list(range(len(batch)))
        out = np.empty((len(batch), bert.config.hidden_size), dtype=np.float32)
        for start in range(0, len(batch), size):
            chosen = order[start:start + size]
            out[chosen] = run([batch[i] for i in chosen])
        return out

    return encode, f"onnxruntime {ort.__version__} (int8 dynamic quantization of the same model)"


# ----------------------------------------------------------------- metrics

def read_tsv(path, cast):
    """`query-id, doc-id, value` lines as {query: {doc: value}} in file order
    (BEIR's MRR depends on it for ties); a header line does not cast."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            q, d, v = line.rstrip("\r").split("\t")[:3]
            v = cast(v)
        except ValueError:
            continue
        out.setdefault(q, {})[d] = v
    return out


def evaluate(qrels, run, k_recall=(100,)):
    """pytrec_eval (trec_eval) nDCG@10 / Recall@k, and MRR@10 as BEIR computes it."""
    import pytrec_eval

    measures = {"ndcg_cut.10"} | {f"recall.{k}" for k in k_recall}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(
        {q: run.get(q, {}) for q in qrels})
    n = len(qrels)

    def mean(key):
        return sum(per_query.get(q, {}).get(key, 0.0) for q in qrels) / n

    out = {"ndcg@10": mean("ndcg_cut_10")}
    out.update({f"recall@{k}": mean(f"recall_{k}") for k in k_recall})
    # BEIR's custom_metrics.mrr: a stable sort by score (ties keep run order,
    # unlike trec_eval's id order), the first document judged > 0 in the top 10.
    total = 0.0
    for q, judged in qrels.items():
        hits = sorted(run.get(q, {}).items(), key=lambda h: h[1], reverse=True)[:10]
        total += next((1 / (r + 1) for r, (d, _) in enumerate(hits) if judged.get(d, 0) > 0), 0.0)
    out["mrr@10"] = total / n
    return out


def cmd_trec_eval(a):
    qrels, run = read_tsv(a.qrels, int), read_tsv(a.run, float)
    emit({"area": "trec_eval", "queries": len(qrels), **evaluate(qrels, run, (10, 100))})


# ----------------------------------------------------------------- bm25

TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # bm25s's default (scikit-learn's), used for both engines


class Bm25s:
    params = "bm25s defaults: method=lucene k1=1.5 b=0.75; english stopwords, Snowball english stemmer"

    def __init__(self):
        import bm25s
        import Stemmer
        self.bm25s, self.stemmer = bm25s, Stemmer.Stemmer("english")
        self.name = f"bm25s {version('bm25s')}"

    def index(self, docs):
        tokens = self.bm25s.tokenize(docs, token_pattern=TOKEN_PATTERN, stopwords="en",
                                     stemmer=self.stemmer, show_progress=False)
        self.retriever = self.bm25s.BM25()
        self.retriever.index(tokens, show_progress=False)

    def search(self, query, k):
        tokens = self.bm25s.tokenize([query], token_pattern=TOKEN_PATTERN, stopwords="en",
                                     stemmer=self.stemmer, return_ids=False, show_progress=False)
        docs, scores = self.retriever.retrieve(tokens, k=k, n_threads=0, show_progress=False)
        return docs[0], scores[0]


class RankBm25:
    params = "BM25Okapi defaults: k1=1.5 b=0.75 epsilon=0.25; bm25s's token pattern, english stopwords and stemmer"

    def __init__(self):
        import re

        import numpy as np
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN
        from rank_bm25 import BM25Okapi
        self.np, self.BM25Okapi = np, BM25Okapi
        stemmer, stop, regex = Stemmer.Stemmer("english"), set(STOPWORDS_EN), re.compile(TOKEN_PATTERN)
        # Same tokens as bm25s gets, so the two differ only in scoring and speed.
        self.tokenize = lambda t: stemmer.stemWords([w for w in regex.findall(t.lower()) if w not in stop])
        self.name = f"rank-bm25 {version('rank-bm25')}"

    def index(self, docs):
        self.bm25 = self.BM25Okapi([self.tokenize(d) for d in docs])

    def search(self, query, k):
        np = self.np
        scores = self.bm25.get_scores(self.tokenize(query))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top, scores[top]


def cmd_bm25(a):
    from threadpoolctl import threadpool_limits

    beir = Path(a.beir)
    corpus = [json.loads(line) for line in (beir / "corpus.jsonl").open(encoding="utf-8") if line.strip()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (beir / "queries.jsonl").open(encoding="utf-8"))}
    qrels = read_tsv(beir / "qrels" / f"{a.split}.tsv", int)
    missing = [q for q in qrels if q not in queries]
    if missing:
        sys.exit(f"judged queries missing from queries.jsonl: {missing[:5]}")
    doc_ids = [d["_id"] for d in corpus]
    docs = [(d.get("title") or "") + " " + (d.get("text") or "") for d in corpus]
    k = min(100, len(docs))
    engines = {"bm25s": Bm25s, "rank-bm25": RankBm25}

    with threadpool_limits(1):  # one query at a time on one thread, BLAS included
        for key in a.engines.split(","):
            engine = engines[key]()
            index_s = []
            for _ in range(a.runs):
                started = time.perf_counter()
                engine.index(docs)
                index_s.append(time.perf_counter() - started)
            log(f"{engine.name}: indexed {len(docs)} docs in {statistics.median(index_s):.2f}s")
            times = {q: [] for q in qrels}
            run = {}
            for _ in range(a.runs):
                for q in qrels:
                    started = time.perf_counter()
                    idx, scores = engine.search(queries[q], k)
                    times[q].append((time.perf_counter() - started) * 1e3)
                    # A score of 0 matched no query term: not retrieved, whatever
                    # order the engine happens to list such documents in.
                    run[q] = {doc_ids[int(i)]: float(s) for i, s in zip(idx, scores) if s > 0}
            # Per query the median over runs, then percentiles across queries.
            ms = [statistics.median(t) for t in times.values()]
            metrics = evaluate(qrels, run)
            emit({"area": "bm25", "engine": engine.name, "params": engine.params,
                  "documents": len(docs), "queries": len(qrels),
                  "index_s": statistics.median(index_s), **latency_fields(ms),
                  "ndcg@10": metrics["ndcg@10"], "recall@100": metrics["recall@100"]})


# ----------------------------------------------------------- bm25-windows

def cmd_bm25_windows(a):
    """Which way of scoring a chunk recovers whole-document BM25? Chunks come
    from semantic-text-splitter (text-splitter's Python binding) with Quarry's
    sizes (crates/core/src/chunk.rs: 120-200 word pieces, 32 overlap); the analysis is
    tantivy's as Quarry configures it (alphanumeric runs, lowercase, Lucene's
    33 stop words, Snowball English); BM25 is Lucene's, as tantivy's is, at
    tantivy's k1 1.2 / b 0.75 and at Pyserini's 0.9 / 0.4; a multi-field score is the weighted sum of per-field scores, as
    a tantivy BooleanQuery of boosted term queries sums them; a document
    scores by its best chunk, as in `quarry eval`."""
    import re

    import bm25s
    import numpy as np
    import Stemmer
    from semantic_text_splitter import TextSplitter
    from tokenizers import Tokenizer

    beir = Path(a.beir)
    corpus = [json.loads(line) for line in (beir / "corpus.jsonl").open(encoding="utf-8") if line.strip()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (beir / "queries.jsonl").open(encoding="utf-8"))}
    qrels = read_tsv(beir / "qrels" / f"{a.split}.tsv", int)
    stop = set("a an and are as at be but by for if in into is it no not of on or such that the "
               "their then there these they this to was will with".split())
    stemmer = Stemmer.Stemmer("english")

    def analyze(text):
        words = re.findall(r"[^\W_]+", text.lower())
        return stemmer.stemWords([w for w in words if w not in stop and len(w.encode()) < 40])

    tokenizer = Tokenizer.from_file(a.tokenizer)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    splitter = TextSplitter.from_huggingface_tokenizer(tokenizer, capacity=(120, 200), overlap=32)
    fields = {"text": [], "whole": [], "title": [], "window ±1": [], "window 3 shifted": []}
    chunk_doc, doc_ids = [], []
    for record in corpus:
        title = record.get("title") or ""
        text = f"{title}\n\n{record['text']}" if title.strip() else record["text"]
        doc_ids.append(record["_id"])
        spans = [(start, start + len(chunk)) for start, chunk in splitter.chunk_indices(text)] or [(0, len(text))]
        last = len(spans) - 1
        for j, (start, end) in enumerate(spans):
            chunk_doc.append(len(doc_ids) - 1)
            fields["text"].append(text[start:end])
            fields["whole"].append(text)
            fields["title"].append(f"{title} {record['_id']}")
            fields["window ±1"].append(text[spans[max(0, j - 1)][0]:spans[min(last, j + 1)][1]])
            lo, hi = max(0, min(j - 1, last - 2)), min(last, max(j + 1, 2))
            fields["window 3 shifted"].append(text[spans[lo][0]:spans[hi][1]])
    chunk_doc = np.array(chunk_doc)
    log(f"{len(doc_ids)} documents, {len(chunk_doc)} chunks")

    variants = [
        ("chunk text + 0.5 title (Quarry before)", {"text": 1, "title": 0.5}),
        ("chunk text", {"text": 1}),
        ("whole document", {"whole": 1}),
        ("chunk text + whole document", {"text": 1, "whole": 1}),
        ("window ±1", {"window ±1": 1}),
        ("window ±1 + 0.25 text + 0.25 title", {"window ±1": 1, "text": 0.25, "title": 0.25}),
        ("window 3 shifted", {"window 3 shifted": 1}),
    ] + [(f"window 3 shifted + {t} text + {ti} title" + (" (Quarry now)" if (t, ti) == (0.25, 0.25) else ""),
          {"window 3 shifted": 1, "text": t, "title": ti})
         for t in (0.1, 0.25, 0.5) for ti in (0.25, 0.5)]
    # tantivy's constants, then Pyserini's BEIR settings: is it k1/b?
    for k1, b in ((1.2, 0.75), (0.9, 0.4)):
        # One index per field; "whole" gives each chunk its whole document
        # (the statistics of indexing documents, up to how many chunks each has).
        indexes = {}
        for name, texts in fields.items():
            retriever = bm25s.BM25(method="lucene", k1=k1, b=b)
            retriever.index([analyze(t) for t in texts], show_progress=False)
            indexes[name] = retriever
        scores = {name: {} for name in fields}
        for q in qrels:
            terms = analyze(queries[q])
            for name, retriever in indexes.items():
                known = [t for t in terms if t in retriever.vocab_dict]
                scores[name][q] = retriever.get_scores(known) if known else np.zeros(len(chunk_doc))
        for label, weights in variants:
            run = {}
            for q in qrels:
                chunk_scores = sum(w * scores[name][q] for name, w in weights.items())
                best = np.full(len(doc_ids), -1.0)
                np.maximum.at(best, chunk_doc, chunk_scores)
                top = np.argsort(-best, kind="stable")[:100]
                run[q] = {doc_ids[i]: float(best[i]) for i in top if best[i] > 0}
            emit({"area": "bm25-windows", "engine": f"k1 {k1} b {b}: {label}", **evaluate(qrels, run)})


# ----------------------------------------------------------------- ann

def exact_top_k(np, base, queries, k):
    """Exact inner-product top k, one block of base rows at a time so the
    score matrix stays near 128 MB whatever N is."""
    nq = len(queries)
    best_s = np.full((nq, k), -np.inf, dtype=np.float32)
    best_i = np.zeros((nq, k), dtype=np.int64)
    step = max(1024, (32 << 20) // max(nq, 1))
    for start in range(0, len(base), step):
        s = queries @ base[start:start + step].T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, part, 1)], 1)
        cand_i = np.concatenate([best_i, part + start], 1)
        keep = np.argpartition(-cand_s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return best_i


def hnswlib_engine(meta, threads):
    import hnswlib
    import numpy as np
    index = hnswlib.Index(space="cosine", dim=meta["dim"])
    index.init_index(max_elements=meta["n"], ef_construction=meta["ef_construction"], M=meta["m"])

    def build(base):
        index.set_num_threads(threads)
        index.add_items(base, np.arange(len(base)))
        index.set_ef(meta["ef_search"])
        index.set_num_threads(1)

    return f"hnswlib {version('hnswlib')}", build, lambda q, k: index.knn_query(q, k=k)[0][0]


def faiss_engine(meta, threads):
    import faiss
    index = faiss.IndexHNSWFlat(meta["dim"], meta["m"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = meta["ef_construction"]

    def build(base):
        faiss.omp_set_num_threads(threads)
        index.add(base)
        index.hnsw.efSearch = meta["ef_search"]
        faiss.omp_set_num_threads(1)

    return f"faiss-cpu {faiss.__version__}", build, lambda q, k: index.search(q, k)[1][0]


def cmd_ann(a):
    import numpy as np
    from threadpoolctl import threadpool_limits

    d = Path(a.vectors)
    meta = json.loads((d / "meta.json").read_text())
    dim, n, nq, k = meta["dim"], meta["n"], meta["nq"], meta["k"]

    def load(name, rows):
        v = np.fromfile(d / name, dtype="<f4")
        if v.size != rows * dim:
            sys.exit(f"{name}: {v.size} floats, expected {rows} x {dim}")
        return np.ascontiguousarray(v.reshape(rows, dim), dtype=np.float32)

    base, queries = load("base.f32", n), load("queries.f32", nq)
    with threadpool_limits(a.threads):
        truth = exact_top_k(np, base, queries, k)
    log(f"ann: exact top-{k} for {nq} queries over {n} vectors done")
    engines = {"hnswlib": hnswlib_engine, "faiss": faiss_engine}

    for key in a.engines.split(","):
        name, build, search = engines[key](meta, a.threads)
        started = time.perf_counter()
        build(base)
        build_s = time.perf_counter() - started
        log(f"{name}: built in {build_s:.2f}s")
        with threadpool_limits(1):
            for i in range(min(nq, 10)):  # warm-up
                search(queries[i:i + 1], k)
            ms, hits = [], 0
            for i in range(nq):
                q = queries[i:i + 1]
                started = time.perf_counter()
                found = search(q, k)
                ms.append((time.perf_counter() - started) * 1e3)
                hits += len(set(int(x) for x in found) & set(truth[i].tolist()))
        emit({"area": "ann", "engine": name, "n": n, "queries": nq,
              "build_vectors_per_s": n / build_s, "qps": nq / (sum(ms) / 1e3),
              **latency_fields(ms), f"recall@{k}": hits / (nq * k)})


def main():
    global _out
    _out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    options = {
        "embed": [("--model", None), ("--texts", None), ("--threads", 2), ("--runs", 3), ("--area", "embed"),
                  ("--engines", "sentence-transformers,onnxruntime")],
        "bm25": [("--beir", None), ("--split", "test"), ("--runs", 3), ("--engines", "bm25s,rank-bm25")],
        "trec-eval": [("--qrels", None), ("--run", None)],
        "ann": [("--vectors", None), ("--threads", 2), ("--engines", "hnswlib,faiss")],
        "bm25-windows": [("--beir", None), ("--tokenizer", None), ("--split", "test")],
    }
    for cmd, opts in options.items():
        sp = sub.add_parser(cmd)
        for flag, default in opts:
            sp.add_argument(flag, required=default is None, default=default,
                            type=int if isinstance(default, int) else str)
    a = p.parse_args()
    {"embed": cmd_embed, "bm25": cmd_bm25, "trec-eval": cmd_trec_eval, "ann": cmd_ann,
     "bm25-windows": cmd_bm25_windows}[a.cmd](a)


if __name__ == "__main__":
    main()
