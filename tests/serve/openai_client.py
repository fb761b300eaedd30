"""Drive `quarry serve` with the official OpenAI Python client, as a user's
tool would: models, a grounded answer with its sources (whole and
streamed), "not found", an unknown model, a wrong token, embeddings, a
stream the client abandons, and clients at once.

Usage: openai_client.py BASE_URL TOKEN
Every check raises on failure (the exit status says it); stdout gets one
JSON object with what the Rust test compares with the CLI (embeddings).
Run by tests/it/serve.rs.
"""

import json
import sys
import threading
import time

import urllib.request
import openai

base_url, token = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key=token, timeout=600, max_retries=0)
report = {}


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def ask(question, **kwargs):
    return client.chat.completions.create(
        model="quarry", messages=[{"role": "user", "content": question}], **kwargs
    )


def assert_grounded(answer_text, extra, must_contain, cited_file):
    """The answer says `must_contain`, cites `cited_file`, and its sources
    agree in all three forms (extension record, citation URLs, text lines)."""
    record = extra["quarry"]
    check(not record["not_found"], f"an answer, not 'not found': {record}")
    check(must_contain in answer_text, f"{must_contain!r} in {answer_text!r}")
    cited = record["citations"]
    check(
        any(c["path"].endswith(cited_file) and must_contain in c["text"] for c in cited),
        f"{cited_file} cited with {must_contain!r}: {cited}",
    )
    urls = extra["citations"]
    check(len(urls) == len(record["retrieved"]), f"one URL per passage given: {urls}")
    for c in cited:
        check(c["span"]["start"] < c["span"]["end"], f"a byte span: {c}")
        check(urls[c["number"] - 1].startswith("file:///"), f"a file URL for [{c['number']}]: {urls}")
        check(c["path"].split("/")[-1] in urls[c["number"] - 1], f"[{c['number']}] is {c['path']}: {urls}")
        line = f"[{c['number']}] {c['path']}"
        check(line in answer_text, f"the source line {line!r} ends the text: {answer_text!r}")


# The models: Quarry's default first, then each GGUF found, answering from
# the library (`quarry/<id>`) or as it is (`<id>`).
models = client.models.list().data
embedders = [m.id for m in models if m.model_extra["quarry"].get("embedding")]
check(embedders == ["all-MiniLM-L6-v2"], f"the embedder is listed: {embedders}")
ids = [m.id for m in models if m.id not in embedders]
check(ids[0] == "quarry" and len(ids) >= 3, f"models: {ids}")
plain_ids = [i for i in ids[1:] if not i.startswith("quarry/")]
check(all(f"quarry/{i}" in ids for i in plain_ids), f"each GGUF both ways: {ids}")
qwen = next(i for i in plain_ids if i.startswith("qwen2.5"))

# A GGUF's own id is the model as it is: no library, no sources, the
# system message obeyed.
r = client.chat.completions.create(
    model=qwen,
    max_tokens=16,
    messages=[
        {"role": "system", "content": "You translate English into French. Reply with the translation only."},
        {"role": "user", "content": "Good morning"},
    ],
)
check("bonjour" in r.choices[0].message.content.lower(), f"a plain chat: {r.choices[0].message.content!r}")
check("quarry" not in (r.model_extra or {}) and r.usage.completion_tokens > 0, f"{r}")

# A whole answer.
r = ask("What is the part number of the conveyor drive belt?")
check(r.object == "chat.completion" and r.choices[0].finish_reason == "stop", f"{r}")
assert_grounded(r.choices[0].message.content, r.model_extra, "ZX-4471-C", "parts.txt")
check(r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, f"usage: {r.usage}")
report["whole"] = r.choices[0].message.content

# A streamed answer, in a conversation (the earlier turn is passed back).
stream = client.chat.completions.create(
    model="quarry",
    stream=True,
    messages=[
        {"role": "user", "content": "What is the part number of the conveyor drive belt?"},
        {"role": "assistant", "content": r.choices[0].message.content},
        {"role": "user", "content": "When do tomato seedlings go outside?"},
    ],
)
text, last, chunks = "", None, 0
for chunk in stream:
    chunks += 1
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    last = chunk
check(chunks > 3, f"the answer came in pieces: {chunks} chunks")
check(last.choices[0].finish_reason == "stop", f"the last chunk ends it: {last}")
assert_grounded(text, last.model_extra, "frost", "garden.txt")
report["streamed"] = text

# "Not found" is an ordinary answer: no sources, flagged.
r = ask("What is the capital of Australia?")
check(r.model_extra["quarry"]["not_found"] is True, f"{r.model_extra}")
check(r.model_extra["citations"] == [], f"no sources: {r.model_extra['citations']}")
check(r.choices[0].message.content.startswith("Not found in your documents"), r.choices[0].message.content)

# Errors in OpenAI's shape, raised as the client's own exceptions.
try:
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    raise AssertionError("an unknown model is refused")
except openai.NotFoundError as e:
    check(e.status_code == 404 and "gpt-4o" in e.message, str(e))
try:
    openai.OpenAI(base_url=base_url, api_key="qry-wrong", max_retries=0).models.list()
    raise AssertionError("a wrong token is refused")
except openai.AuthenticationError as e:
    check(e.status_code == 401 and e.body["code"] == "invalid_api_key", str(e.body))
try:
    client.chat.completions.create(
        model="quarry", messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    )
    raise AssertionError("a conversation not ending with a question is refused")
except openai.BadRequestError as e:
    check(e.status_code == 400, str(e))

# Embeddings: the client asks for base64 by default; floats on request.
texts = ["the conveyor drive belt", "tomato seedlings after the last frost"]
e = client.embeddings.create(model="quarry", input=texts)
check([d.index for d in e.data] == [0, 1] and e.usage.prompt_tokens > 0, f"{e.usage}")
floats = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts[0], encoding_format="float")
check(
    max(abs(a - b) for a, b in zip(floats.data[0].embedding, e.data[0].embedding)) == 0.0,
    "base64 and float carry the same vector",
)
report["embeddings"] = [d.embedding for d in e.data]
report["embedding_texts"] = texts

def call(route, body=None):
    """A plain HTTP request with the token (what curl or a script would send)."""
    request = urllib.request.Request(
        base_url + route,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)



def status():
    return call("/status")


# A client that leaves mid-answer stops its generation.
stopped_before = status()["answers"]["stopped"]
stream = client.chat.completions.create(
    model="quarry",
    stream=True,
    max_tokens=400,
    # A question the library answers (so the model writes), left after the
    # model's first piece: the answer cannot be done by then.
    messages=[{"role": "user", "content": "What is the part number of the conveyor drive belt? Explain in detail."}],
)
pieces = 0
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces += 1
        break
check(pieces == 1, "the model began to answer")
stream.close()
deadline = time.time() + 120
while status()["answers"]["stopped"] == stopped_before:
    check(time.time() < deadline, f"the abandoned answer was stopped: {status()}")
    time.sleep(0.2)
report["stopped"] = status()["answers"]

# Clients at once: two questions and a search, all answered.
results = {}


def question(name, text):
    results[name] = ask(text)


def search():
    results["search"] = call("/search", {"query": "drive belt", "k": 3})


threads = [
    threading.Thread(target=question, args=("belt", "What is the part number of the conveyor drive belt?")),
    threading.Thread(target=question, args=("rover", "What did the Rover of 1885 introduce?")),
    threading.Thread(target=search),
]
for t in threads:
    t.start()
for t in threads:
    t.join()
check("ZX-4471-C" in results["belt"].choices[0].message.content, f"{results['belt']}")
check(not results["rover"].model_extra["quarry"]["not_found"], f"{results['rover'].model_extra}")
check(results["search"]["results"][0]["path"].endswith("parts.txt"), f"{results['search']}")
# The server counts an answer done just after its last event is sent: wait
# (a bounded while) for the count rather than reading it once.
deadline = time.monotonic() + 10
while status()["answers"]["waiting"] != 0 and time.monotonic() < deadline:
    time.sleep(0.05)
check(status()["answers"]["waiting"] == 0, f"nothing left waiting: {status()}")

print(json.dumps(report))
