"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, scripted by the caller.

Used by tests/test_llm_server.py (the real `openai` client through LangChain's ChatOpenAI against it) and by
benchmarks/llm_tokens.py (tokens per submission). Standard library only.

    with ChatServer(script) as server:          # server.url == "http://127.0.0.1:PORT/v1"
        ...                                      # server.requests: every request body, parsed

`script(body, call_index) -> (status, payload_or_text, delay_seconds)`:
- status 200 and a str: the assistant's message content, wrapped in a proper chat.completion;
- another status and a str: the message of an OpenAI-style error body (`{"error": {...}}`);
- a dict: sent as the JSON body as it is;
- delay_seconds: the server waits that long before it answers (a timeout, a slow model); a client that
  closes the connection meanwhile is counted in `abandoned`, and gets no answer.
The script is called under the server's lock, so it may keep state without locking of its own.

Tokens are estimated, not tokenised: prompt tokens = ceil(chars / 4) of all message contents of the request,
completion tokens = ceil(chars / 4) of the answer's content. Totals of what the server reported in `usage`
are kept in `prompt_tokens` and `completion_tokens`.
"""

from __future__ import annotations

import json
import math
import select
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Script = Callable[[dict, int], tuple[int, Any, float]]

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
               429: "rate_limit_error", 500: "server_error", 503: "server_error"}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_text(body: dict) -> str:
    return "".join(content_text(m.get("content")) for m in body.get("messages", []))


def user_message(body: dict) -> str:
    """The first user message: the rendered prompt (a retry appends the bad answer and the error after it)."""
    return next(content_text(m["content"]) for m in body["messages"] if m["role"] == "user")


def refuse(body: dict, call_index: int) -> tuple[int, Any, float]:
    return 500, "no script set", 0.0


class ChatServer:
    def __init__(self, script: Script | None = None):
        self.script: Script = script or refuse
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []  # exceptions the script raised (each answered with a 500)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.in_flight = 0
        self.max_in_flight = 0
        # per request, in order: calls in flight when it arrived, itself included
        self.in_flight_at_arrival: list[int] = []
        self.abandoned = 0  # requests whose client closed the connection before the answer
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> ChatServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="chat-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()  # wakes handlers that are still delaying
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one request

    def respond(self, body: dict, request_headers: dict[str, str]) -> tuple[int, dict, dict[str, str], float]:
        """(status, JSON body, extra headers, delay) for one parsed request body."""
        with self.lock:  # body and headers recorded together, so requests[i] and headers[i] are one request
            index = len(self.requests)
            self.requests.append(body)
            self.headers.append(request_headers)
            try:
                status, payload, delay = self.script(body, index)
            except Exception as exc:  # noqa: BLE001 - a broken script is the caller's bug: answer 500, keep it
                self.errors.append(f"request {index}: {type(exc).__name__}: {exc}")
                status, payload, delay = 500, f"the script failed: {exc!r}", 0.0
            if status == 200 and isinstance(payload, str):
                usage = {
                    "prompt_tokens": estimate_tokens(prompt_text(body)), "completion_tokens": estimate_tokens(payload)
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                self.prompt_tokens += usage["prompt_tokens"]
                self.completion_tokens += usage["completion_tokens"]
                payload = {
                    "id": f"chatcmpl-{index}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", ""), "system_fingerprint": None,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": payload},
                                 "logprobs": None, "finish_reason": "stop"}],
                    "usage": usage,
                }
            elif isinstance(payload, str):
                payload = {"error": {"message": payload, "type": ERROR_TYPES.get(status, "api_error"),
                                     "code": "rate_limit_exceeded" if status == 429 else None}}
        # Retry-After: 0 is what the brief's servers send; the openai client reads 0 as "unset" and falls back
        # to its own backoff (about 0.5 s), so retry-after-ms makes the wait really short.
        headers = {"Retry-After": "0", "retry-after-ms": "10"} if status == 429 else {}
        return status, payload, headers, delay


def _handler_for(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - quiet: tests read what they need from the server
            pass

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error",
                                                  "code": None}})
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error",
                                                  "code": None}})
            with server.lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
                server.in_flight_at_arrival.append(server.in_flight)
            try:
                status, payload, headers, delay = server.respond(body, dict(self.headers.items()))
                if delay and not self._wait(delay):
                    return  # the server is closing, or the client went away
                self._send(status, payload, headers)
            finally:
                with server.lock:
                    server.in_flight -= 1

        def _wait(self, delay: float) -> bool:
            """Wait `delay` seconds, like a model generating; False when the server closes or the client hangs up."""
            deadline = time.monotonic() + delay
            while (left := deadline - time.monotonic()) > 0:
                if server._stop.wait(min(left, 0.02)):
                    return False
                if self._client_closed():
                    with server.lock:
                        server.abandoned += 1
                    return False
            return True

        def _client_closed(self) -> bool:
            # poll, not select: select() refuses descriptors past 1024, which a long test session reaches
            poller = select.poll()
            poller.register(self.connection, select.POLLIN)
            readable = poller.poll(0)
            try:
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True

        def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout): nothing to answer

    return Handler
