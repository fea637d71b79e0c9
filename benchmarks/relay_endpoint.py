"""An OpenAI-compatible chat endpoint that hands each request to a reader through files and waits for the reply.

It measures the LLM drafter with a model that has no API of its own here (a chat assistant, an agent, a person
copying prompts into a web interface): prescreen talks to it like any server, and everything else (the prompt,
the passages, the schema, the parsing, the verifier, the checks) is prescreen's own code path.

    python benchmarks/relay_endpoint.py DIR [--port 8765]
    PRESCREEN_LLM_BASE_URL=http://127.0.0.1:8765/v1 PRESCREEN_LLM_MODEL=<who answers> PRESCREEN_LLM_API_KEY=relay \\
    PRESCREEN_LLM_TIMEOUT=10800 PRESCREEN_LLM_OUTCOME_DEADLINE=14400 PRESCREEN_LLM_MAX_RETRIES=0 \\
    PRESCREEN_LLM_MAX_CONCURRENCY=6 python benchmarks/eval_labelled.py --drafter llm --split test --data-dir D

Each POST /v1/chat/completions is written to DIR/queue/<n>.md: every message as text, then the response format
asked for. The request waits until DIR/answers/<n>.json exists; that file's text is the assistant's reply.
A reader claims a request by moving it to DIR/claimed/ (atomic, so several readers can share a queue), answers
from that file alone, and writes the reply to a temporary name in DIR/answers/ before moving it into place.
The raw requests are kept in DIR/log/. `--data-dir` keeps the answers in prescreen's response cache, so a
re-run (a whole split at once, after readers answered it in parts) asks nothing again.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POLL_S = 0.5


def render(body: dict, n: int, folder: Path) -> str:
    """The request as a reader sees it: where to answer, every message, the response format."""
    out = [f"# Request {n}", f"Write your reply (the assistant's message only) to: {folder}/answers/{n}.json", ""]
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
        out += [f"======== {str(message.get('role', '?')).upper()} MESSAGE ========", str(content), ""]
    if body.get("response_format"):
        out += ["======== RESPONSE FORMAT REQUESTED ========", json.dumps(body["response_format"]), ""]
    return "\n".join(out)


def completion(body: dict, n: int, content: str) -> dict:
    """A chat completion carrying the reader's reply; tokens estimated as characters / 4."""
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
    return {
        "id": f"chatcmpl-relay-{n}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": len(content) // 4,
                  "total_tokens": prompt + len(content) // 4},
    }


class Relay(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path, port: int = 0):
        self.folder = folder
        for sub in ("queue", "claimed", "answers", "log"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self.numbers = itertools.count(int(time.time() * 1000))
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def ask(self, body: dict) -> tuple[int, str]:
        """Queue the request and wait for its reply: (its number, the reply)."""
        with self.lock:
            n = next(self.numbers)
        (self.folder / "log" / f"{n}.json").write_text(json.dumps(body))
        pending = self.folder / "queue" / f".{n}.tmp"
        pending.write_text(render(body, n, self.folder))
        pending.rename(self.folder / "queue" / f"{n}.md")
        reply = self.folder / "answers" / f"{n}.json"
        while not reply.exists():
            time.sleep(POLL_S)
        return n, reply.read_text()


class _Handler(BaseHTTPRequestHandler):
    server: Relay

    def log_message(self, *args) -> None:
        pass

    def _send(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "relay", "object": "model", "owned_by": "relay"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self._send(completion(body, *self.server.ask(body)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    relay = Relay(args.folder.resolve(), args.port)
    print(f"relay at {relay.url}; requests in {args.folder / 'queue'}", flush=True)
    relay.serve_forever()


if __name__ == "__main__":
    main()
