"""A fake OpenAI-compatible chat-completions server: the suite's only test
double, standing in for an external model server (vLLM, Ollama, ...).

It serves `POST /v1/chat/completions` on loopback, non-streaming and
streaming (server-sent events, chunked), and `POST /v1/moderations` and a
Llama Guard model for the external guardrail classifiers, answers deterministically so the
tests can predict every byte, records each request it gets, and insists on
the bearer key it was given.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer_for(model: str, messages: list) -> str:
    """The fake model's answer: names the upstream model and repeats the
    last user message, so a test can tell it from the echo backend."""
    last = ""
    for m in messages:
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            last = content or ""
    return f"Fake upstream {model} heard: {last}"


# The fake moderation endpoint and Llama Guard model decide by a tiny fixed
# lexicon, so a test knows what each text gets.
MODERATION_LEXICON = {
    "vermin": ("hate", 0.97),
    "虫けら": ("hate", 0.95),
    "you idiot": ("harassment", 0.62),
    "kill you": ("violence", 0.93),
}
LLAMA_GUARD = "llama-guard-3-8b"


def moderation_scores(text: str) -> dict:
    categories = ["hate", "hate/threatening", "harassment", "harassment/threatening", "sexual",
                  "sexual/minors", "violence", "violence/graphic", "illicit", "illicit/violent",
                  "self-harm", "self-harm/intent", "self-harm/instructions"]
    scores = {c: 0.01 for c in categories}
    for word, (category, score) in MODERATION_LEXICON.items():
        if word in text.lower():
            scores[category] = max(scores[category], score)
    return scores


def llama_guard_verdict(text: str) -> str:
    codes = []
    if any(w in text.lower() for w in ("vermin", "虫けら")):
        codes.append("S10")
    if "kill you" in text.lower():
        codes.append("S1")
    return "unsafe\n" + ",".join(codes) if codes else "safe"


def word_count(text: str) -> int:
    return len(text.split())


class FakeOpenAI:
    """Start with `start()`, stop with `stop()`; `base_url` is the API root
    to configure (`http://127.0.0.1:PORT/v1`)."""

    def __init__(self, api_key: str):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet
                pass

            def _json(self, status: int, value: dict) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _accepted_body(self, raw: bytes) -> dict | None:
                """The request's JSON body once the key is checked and the
                request recorded; None after answering an error."""
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._json(401, {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}})
                    return None
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error", "code": None}})
                    return None
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                return body

            def _moderation(self, body: dict) -> None:
                scores = moderation_scores(body.get("input", ""))
                self._json(200, {"id": "modr-fake", "model": body.get("model", "omni-moderation-latest"),
                                 "results": [{"flagged": any(v >= 0.5 for v in scores.values()),
                                              "categories": {k: v >= 0.5 for k, v in scores.items()},
                                              "category_scores": scores}]})

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                route = self.path.rstrip("/")
                if route not in ("/v1/chat/completions", "/v1/moderations"):
                    self._json(404, {"error": {"message": "no such route", "type": "invalid_request_error", "code": "not_found"}})
                    return
                body = self._accepted_body(raw)
                if body is None:
                    return
                if route == "/v1/moderations":
                    self._moderation(body)
                    return
                model = body.get("model", "")
                messages = body.get("messages", [])
                if model == LLAMA_GUARD:
                    verdict = llama_guard_verdict(messages[-1].get("content", "") if messages else "")
                    self._json(200, {"id": "chatcmpl-guard", "object": "chat.completion", "model": model,
                                     "choices": [{"index": 0, "message": {"role": "assistant", "content": verdict},
                                                  "finish_reason": "stop"}]})
                    return
                text = answer_for(model, messages)
                prompt_tokens = sum(
                    word_count(m["content"]) if isinstance(m.get("content"), str) else 1 for m in messages
                )
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": word_count(text),
                    "total_tokens": prompt_tokens + word_count(text),
                }
                created = int(time.time())
                if not body.get("stream"):
                    self._json(
                        200,
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "created": created,
                            "model": model,
                            "choices": [
                                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                            ],
                            "usage": usage,
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def event(delta: dict, finish: str | None = None, **extra) -> None:
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                    chunk.update(extra)
                    self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")

                event({"role": "assistant", "content": ""})
                words = text.split(" ")
                # Three pieces (or fewer for short answers), split at spaces
                # that travel with the following word.
                step = max(1, -(-len(words) // 3))
                for i in range(0, len(words), step):
                    piece = " ".join(words[i : i + step])
                    event({"content": piece if i == 0 else " " + piece})
                event({}, "stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._chunk(
                        b"data: "
                        + json.dumps(
                            {
                                "id": "chatcmpl-fake",
                                "object": "chat.completion.chunk",
                                "created": created,
                                "model": model,
                                "choices": [],
                                "usage": usage,
                            }
                        ).encode()
                        + b"\n\n"
                    )
                self._chunk(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def requests_for(self, model: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["body"].get("model") == model]
