"""A stand-in for the Anthropic API: the Messages API on 127.0.0.1, scripted per test.

The real API cannot be reached from tests (no network but loopback, no key), so this
HTTP server speaks its protocol and the real ``anthropic`` SDK talks to it unchanged
through ``base_url``. What it does as the API does:

- ``POST /v1/messages`` only; the key, in ``x-api-key`` or as ``Authorization: Bearer``
  (this SDK sends the latter), must be the stub's (else 401 ``authentication_error``),
  and ``anthropic-version`` must be present (else 400);
- a message in the real response shape: ``id``, ``type: message``, ``role``, ``model``,
  ``content`` blocks (``tool_use`` with ``id``/``name``/``input``, or ``text``),
  ``stop_reason``, ``usage`` (input, output, cache tokens, service tier), and a
  ``request-id`` header;
- errors in the real body shape (``{"type": "error", "error": {"type", "message"},
  "request_id"}``), 429 ``rate_limit_error`` and 529 ``overloaded_error`` with a
  ``retry-after`` header, which the SDK honours when it retries.

Each test scripts the replies (a queue, :meth:`AnthropicStub.push`); every request
received, retries included, is recorded in :attr:`AnthropicStub.requests`. A request
with nothing scripted gets a 500, so a test that asks more than it expects fails.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEST_KEY = "sk-ant-api03-stub-" + "x" * 24  # looks like a key; is one only for the stub


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow API, for timeouts)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def user_text(self) -> str:
        """The text of the request's (first) user message."""
        content = self.body["messages"][0]["content"]
        if isinstance(content, str):
            return content
        return "".join(block.get("text", "") for block in content)

    @property
    def offered(self) -> list[str]:
        """The runbook enum of the first tool the request defines."""
        return list(self.body["tools"][0]["input_schema"]["properties"]["runbook"]["enum"])


def tool_answer(
    runbook: str,
    confidence: float,
    reasoning: str = "the runbook fixes what the check found",
    *,
    input_tokens: int = 1500,
    output_tokens: int = 90,
    name: str = "choose_runbook",
) -> Reply:
    """A message whose content is one tool call, as a forced ``tool_choice`` yields."""
    block = {
        "type": "tool_use",
        "id": "toolu_" + secrets.token_hex(12),
        "name": name,
        "input": {"runbook": runbook, "confidence": confidence, "reasoning": reasoning},
    }
    return _message([block], "tool_use", input_tokens, output_tokens)


def text_answer(text: str, *, input_tokens: int = 1500, output_tokens: int = 120) -> Reply:
    """A message whose content is one text block (a model or proxy ignoring tools)."""
    return _message([{"type": "text", "text": text}], "end_turn", input_tokens, output_tokens)


def error(status: int, kind: str, message: str, retry_after: float | None = None) -> Reply:
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    return Reply(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)


def rate_limited(retry_after: float = 1) -> Reply:
    return error(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        retry_after,
    )


def overloaded(retry_after: float = 1) -> Reply:
    return error(529, "overloaded_error", "Overloaded", retry_after)


def slow(reply: Reply, seconds: float) -> Reply:
    return Reply(reply.status, reply.body, reply.headers, seconds)


def _message(
    content: list[dict[str, Any]], stop_reason: str, input_tokens: int, output_tokens: int
) -> Reply:
    return Reply(
        200,
        {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": "",  # filled with the requested model
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard",
            },
        },
    )


class AnthropicStub:
    """The server. Use as a context manager; ``base_url`` goes in the l2 config."""

    def __init__(self, api_key: str = TEST_KEY) -> None:
        self.api_key = api_key
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._replies)

    def __enter__(self) -> AnthropicStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # releases slow replies still waiting
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            if received.path != "/v1/messages" or received.method != "POST":
                return error(404, "not_found_error", f"Not found: {received.path}")
            if _presented_key(received.headers) != self.api_key:
                return error(401, "authentication_error", "invalid x-api-key")
            if "anthropic-version" not in received.headers:
                return error(400, "invalid_request_error", "anthropic-version header is required")
            missing = [k for k in ("model", "max_tokens", "messages") if k not in received.body]
            if missing:
                return error(400, "invalid_request_error", f"{missing[0]}: Field required")
            if not self._replies:
                return error(500, "api_error", "stub: no reply scripted for this request")
            return self._replies.popleft()


def _presented_key(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :]
    return headers.get("x-api-key")


def _handler(stub: AnthropicStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's HTTP client expects

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                body = {}
            received = Received(
                self.command,
                self.path.split("?", 1)[0],
                {k.lower(): v for k, v in self.headers.items()},
                body if isinstance(body, dict) else {},
            )
            reply = stub._next(received)
            if reply.delay and stub._stopping.wait(reply.delay):
                return
            request_id = "req_" + secrets.token_hex(12)
            payload = dict(reply.body)
            if payload.get("type") == "message":
                payload["model"] = received.body.get("model", "")
            else:
                payload["request_id"] = request_id
            data = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", request_id)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): as the real API, nothing to do

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests read self.requests

    return Handler
