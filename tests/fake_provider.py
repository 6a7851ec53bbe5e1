"""A local fake LLM provider speaking the OpenAI, Azure OpenAI, Anthropic and Ollama wire
protocols, for tests. Pure Python (only :func:`allow_provider_requests` imports Odoo), so
provider tests, HTTP streaming tests and scripts can all use it::

    from odoo.addons.llm_thread.providers import Finish, ReasoningDelta, TextDelta, Usage
    from odoo.addons.llm_thread.tests.fake_provider import FakeProvider, StreamedToolCall

    fake = FakeProvider.start()                 # 127.0.0.1, random port, daemon threads
    fake.script("openai", [ReasoningDelta("Hmm"), TextDelta("Hel"), TextDelta("lo"),
                           StreamedToolCall("call_1", "now", "{}"), Usage(12, 2),
                           Finish("tool_calls")])
    provider_url = fake.base_url("openai")      # http://127.0.0.1:PORT/v1
    ...                                         # the code under test streams "Hello"
    request = fake.requests[-1]                 # method, path, query, headers, json
    fake.stop()

Formats: ``"openai"`` (``POST /v1/chat/completions``), ``"azure"`` (``POST
/openai/deployments/<name>/chat/completions?api-version=...``), ``"anthropic"`` (``POST
/v1/messages``) and ``"ollama"`` (``POST /api/chat``). :meth:`FakeProvider.base_url` gives the
base URL a provider record takes for each.

Scripting: every queued answer serves one request of its route, in order (``times=None``
serves every request). An unscripted request gets HTTP 501 naming the route, so a test that
forgot a script fails clearly.

- :meth:`FakeProvider.script` queues a streamed chat answer built from steps, which the
  fake renders exactly as the provider frames it (SSE ``data:`` lines and ``[DONE]`` for
  OpenAI; ``event:``/``data:`` pairs from ``message_start`` to ``message_stop`` for Anthropic;
  one JSON object a line ending with ``"done": true`` for Ollama), sent with chunked transfer
  encoding, one frame a chunk (``chunk_size=N`` re-cuts the body in N-byte chunks):

  - content, as the provider layer's own events: ``TextDelta``, ``ReasoningDelta``, ``Usage``
    (token counts of the closing frames), ``Finish`` (the closing frames; without it the body
    just ends: a stream cut cleanly); and :class:`StreamedToolCall` (arguments as JSON text,
    sent in ``fragments`` pieces where the format streams them; invalid JSON is sent as is);
  - :class:`Refusal` (OpenAI's ``delta.refusal``; text in the other formats);
  - faults: :class:`Wait` (block until a ``threading.Event`` is set: slow or stalled
    streams), :class:`Pause` (send nothing for some seconds: a provider thinking before its
    first token), :class:`Cut` (drop the connection mid-body), :class:`Raw` (bytes as they are:
    malformed JSON, unknown events), :class:`StreamError` (the format's in-stream error,
    carrying the scripted ``Usage`` where the provider sends counts with it: OpenRouter's
    error chunk, Anthropic's ``message_start`` before the ``error`` event),
    :class:`Ping` (Anthropic ``ping`` event, SSE comment for OpenAI).

- :meth:`FakeProvider.fail` queues an error status with the format's own error body;
- :meth:`FakeProvider.models` queues the format's model list;
- :meth:`FakeProvider.reply` queues any answer for any route (pagination, HTML pages...).
- Embeddings routes answer by themselves with deterministic vectors; see
  :mod:`.fake_embeddings`.

``FakeProvider.start(api_key="sk-test")`` checks the key where the provider looks for it
(``Authorization: Bearer``, Azure's ``api-key``, Anthropic's ``x-api-key``) and answers 401 with
the provider's error body when it is wrong; Anthropic requests without ``anthropic-version``
get the API's 400.

Every request is recorded in :attr:`FakeProvider.requests` as a :class:`RecordedRequest`
(:meth:`FakeProvider.wait_for_requests` waits for them from another thread); its
``disconnected`` event is set when the client closed the connection before the answer's end
(what a cancellation test waits for), ``finished`` when the server is done with it.

Chat requests' message contents are checked as each API documents them (:func:`content_error`):
OpenAI's content parts (``text``, ``image_url`` with a URL or a base64 data URL of a PNG, JPEG,
GIF or WebP image), Anthropic's content blocks (``text``, ``image`` and ``document`` with their
``source``, ``tool_use``, ``tool_result``), Ollama's message ``images`` (bare base64). A request
breaking them gets the API's 400 with its error body, as the real one would refuse it.

An Anthropic request ending with an assistant turn (a prefill) gets the API's 400 where the API
refuses one (:func:`anthropic_prefill_error`): a text ending with whitespace, thinking enabled,
a Claude 4.6 or later model.

Helpers for transport faults: :func:`refused_url` (nothing listens there) and
:class:`Unresponsive` (a listener that never accepts: connections time out).

In an Odoo test class, call :func:`allow_provider_requests` in ``setUpClass``: Odoo's guard
on outgoing requests otherwise breaks the providers' ``(connect, read)`` timeouts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import select
import socket
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union
from urllib.parse import parse_qsl, urlsplit

from ..providers.base import Finish, ReasoningDelta, TextDelta, Usage
from .fake_embeddings import embeddings_answer, is_embeddings_path

CREATED = 1735689600  # fixed timestamps keep the frames reproducible
CREATED_AT = "2025-01-01T00:00:00.000000Z"


# Steps ------------------------------------------------------------------------------------
# Content steps are the provider layer's own events (TextDelta, ReasoningDelta, Usage,
# Finish), so a script reads like the events it must produce; the others are the fake's.

@dataclass(frozen=True)
class StreamedToolCall:
    """A tool call as the model streams it: ``arguments`` is the JSON text the model writes
    (invalid JSON too, to test that), sent in ``fragments`` pieces where the format streams
    arguments (OpenAI, Anthropic); Ollama sends each call whole."""

    id: str
    name: str
    arguments: str = "{}"
    fragments: int = 3


@dataclass(frozen=True)
class Wait:
    """Send nothing until ``event`` is set: a slow or stalled stream."""

    event: threading.Event


@dataclass(frozen=True)
class Pause:
    """Send nothing for ``seconds``: a provider thinking before its first token."""

    seconds: float


@dataclass(frozen=True)
class Cut:
    """Drop the connection here, without the end of the chunked body."""


@dataclass(frozen=True)
class Raw:
    """Bytes sent as they are (malformed JSON, unknown events, hand-made frames)."""

    data: bytes | str


@dataclass(frozen=True)
class StreamError:
    """The format's error inside a 200 stream (Anthropic ``error`` event, Ollama ``error``
    line, OpenAI-compatible ``error`` chunk)."""

    message: str = "Overloaded"
    type: str = "overloaded_error"


@dataclass(frozen=True)
class Refusal:
    """The model refusing: OpenAI streams it in ``delta.refusal`` (and still finishes with
    "stop"); Anthropic and Ollama have no refusal field, so it is sent as text there."""

    text: str


@dataclass(frozen=True)
class Ping:
    """Anthropic's ``ping`` event; an SSE comment for OpenAI; nothing for Ollama."""


Step = Union[TextDelta, ReasoningDelta, StreamedToolCall, Usage, Finish, Wait, Pause, Cut, Raw,
             StreamError, Refusal, Ping]


# Recorded requests and queued answers -----------------------------------------------------

@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any
    # The client's port: two requests with the same one came on one kept-alive connection.
    client_port: int = 0
    disconnected: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A streamed answer: frames (bytes) and Wait / Pause / Cut steps, sent in chunks.
    stream: list[Any] | None = None
    times: int | None = 1
    # A scripted answer calling tools: a model asked without tools never calls one.
    calls_tools: bool = False


CHAT_ROUTES = {
    "openai": ("POST", "/v1/chat/completions"),
    "azure": ("POST", "/openai/deployments/*/chat/completions"),
    "anthropic": ("POST", "/v1/messages"),
    "ollama": ("POST", "/api/chat"),
}
MODEL_ROUTES = {
    "openai": ("GET", "/v1/models"),
    "azure": ("GET", "/openai/models"),
    "anthropic": ("GET", "/v1/models"),
    "ollama": ("GET", "/api/tags"),
}
_AZURE_CHAT = re.compile(r"^/openai/deployments/[^/]+/chat/completions$")
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}
OPENAI_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
                      404: "invalid_request_error", 429: "requests"}


class FakeProvider:
    """The fake server; see the module docstring."""

    def __init__(self, api_key: str | None = None):
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._answers: dict[tuple[str, str], deque[_Answer]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._received = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-llm-provider", daemon=True)

    @classmethod
    def start(cls, api_key: str | None = None) -> FakeProvider:
        fake = cls(api_key)
        fake._thread.start()
        return fake

    def stop(self) -> None:
        self._stopping.set()  # releases handlers blocked in a Wait step
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def base_url(self, fmt: str) -> str:
        """What the provider's "Base URL" field takes for ``fmt``."""
        return f"{self.root_url}/v1" if fmt == "openai" else self.root_url

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until ``count`` requests were received (for tests acting from another
        thread); raises ``TimeoutError`` after ``timeout`` seconds."""
        with self._received:
            if not self._received.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests received")
            return list(self.requests)

    def reset(self) -> None:
        """Forget recorded requests and unused answers (between tests sharing one server)."""
        with self._lock:
            self.requests.clear()
            self._answers.clear()

    # Queueing ---------------------------------------------------------------------------

    def script(self, fmt: str, steps: list[Step], *, model: str = "fake-model",
               chunk_size: int | None = None, times: int | None = 1) -> None:
        """Queue a streamed chat answer of ``fmt`` made of ``steps``."""
        renderer = RENDERERS[fmt](steps, model)
        frames = renderer.frames()
        if chunk_size:
            frames = _rechunk(frames, chunk_size)
        self._queue(CHAT_ROUTES[fmt], _Answer(
            headers={"Content-Type": renderer.content_type}, stream=frames, times=times,
            calls_tools=any(isinstance(step, StreamedToolCall) for step in steps)))

    def fail(self, fmt: str, status: int, message: str = "", *, code: str | None = None,
             headers: dict[str, str] | None = None, times: int | None = 1) -> None:
        """Queue an error answer to the chat route of ``fmt`` with the format's error body."""
        message = message or f"fake error {status}"
        self._queue(CHAT_ROUTES[fmt], _Answer(
            status=status, headers={"Content-Type": "application/json", **(headers or {})},
            body=json.dumps(error_body(fmt, status, message, code)).encode(), times=times))

    def models(self, fmt: str, ids: list[str], *, times: int | None = 1) -> None:
        """Queue the model list answer of ``fmt`` listing ``ids``."""
        if fmt == "ollama":
            body = {"models": [{
                "name": name, "model": name, "modified_at": CREATED_AT, "size": 2019393189,
                "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                "details": {"parent_model": "", "format": "gguf", "family": "llama",
                            "families": ["llama"], "parameter_size": "3.2B",
                            "quantization_level": "Q4_K_M"},
            } for name in ids]}
        elif fmt == "anthropic":
            body = {"data": [{"type": "model", "id": name, "display_name": name.title(),
                              "created_at": "2025-02-19T00:00:00Z"} for name in ids],
                    "has_more": False, "first_id": ids[0] if ids else None,
                    "last_id": ids[-1] if ids else None}
        else:
            body = {"object": "list", "data": [{"id": name, "object": "model",
                                                "created": CREATED, "owned_by": "system"}
                                               for name in ids]}
        self.reply(*MODEL_ROUTES[fmt], json_body=body, times=times)

    def reply(self, method: str, path: str, status: int = 200, *, json_body: Any = None,
              body: bytes | str = b"", headers: dict[str, str] | None = None,
              times: int | None = 1) -> None:
        """Queue any answer for ``method path`` (``path`` without the query string)."""
        if json_body is not None:
            body = json.dumps(json_body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        if isinstance(body, str):
            body = body.encode()
        self._queue((method, path), _Answer(status=status, headers=headers or {}, body=body,
                                            times=times))

    def _queue(self, route: tuple[str, str], answer: _Answer) -> None:
        with self._lock:
            self._answers[route].append(answer)

    def _take(self, method: str, path: str) -> _Answer | None:
        route = (method, "/openai/deployments/*/chat/completions"
                 if _AZURE_CHAT.match(path) else path)
        with self._lock:
            queue = self._answers.get(route)
            if not queue:
                return None
            answer = queue[0]
            if answer.times is not None:
                answer.times -= 1
                if answer.times <= 0:
                    queue.popleft()
            return answer


def error_body(fmt: str, status: int, message: str, code: str | None = None) -> Any:
    """The error document each provider sends with an error status."""
    if fmt == "anthropic":
        return {"type": "error",
                "error": {"type": ANTHROPIC_ERROR_TYPES.get(status, "api_error"),
                          "message": message}}
    if fmt == "ollama":
        return {"error": message}
    return {"error": {"message": message,
                      "type": OPENAI_ERROR_TYPES.get(status, "server_error"),
                      "param": None, "code": code}}


# Message contents as each API documents them --------------------------------------------

IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_DATA_URL = re.compile(r"^data:(image/[a-z]+);base64,(.*)$", re.DOTALL)


def _is_base64(data: Any) -> bool:
    if not isinstance(data, str) or not data:
        return False
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def content_error(fmt: str, messages: Any) -> str | None:
    """What the API would say of ``messages``' contents, or None when it takes them."""
    if not isinstance(messages, list):
        return "messages: expected an array"
    check = {"anthropic": _anthropic_error, "ollama": _ollama_error}.get(fmt, _openai_error)
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages.{index}: expected an object"
        error = check(message, final=index == len(messages) - 1)
        if error:
            return f"messages.{index}.{error}"
    return None


def _openai_error(message: dict, final: bool) -> str | None:
    """Chat Completions: ``content`` is text, or (user messages) a non-empty array of ``text``
    and ``image_url`` parts; an image URL is http(s) or ``data:<image type>;base64,<data>``."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return None
    if not isinstance(content, list):
        return "content: expected a string or an array of content parts"
    if not content:
        return ("content: empty array. Expected an array with minimum length 1, but got an "
                "empty array instead.")
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind != "image_url":
            return f"content.{index}: invalid content part (type {kind!r})"
        if message.get("role") != "user":
            return f"content.{index}: image_url parts are only allowed in user messages"
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if not isinstance(url, str):
            return f"content.{index}.image_url.url: expected a string"
        if image.get("detail", "auto") not in ("auto", "low", "high"):
            return f"content.{index}.image_url.detail: expected auto, low or high"
        if url.startswith(("http://", "https://")):
            continue
        match = _DATA_URL.match(url)
        if not match or match[1] not in IMAGE_MEDIA_TYPES or not _is_base64(match[2]):
            return f"content.{index}.image_url.url: invalid image data URL"
    return None


def _anthropic_error(message: dict, final: bool) -> str | None:
    """Messages API: ``content`` is text or an array of blocks, empty only in a final
    assistant turn; a text block holds more than whitespace; ``image`` (base64 of a JPEG, PNG,
    GIF or WebP, or a URL) and ``document`` (base64 PDF or plain text) blocks only in user
    turns."""
    content = message.get("content")
    if content == "" and not (final and message.get("role") == "assistant"):
        return ("content: all messages must have non-empty content except for the optional "
                "final assistant message")
    if isinstance(content, str):
        return None
    if not isinstance(content, list) or not content:
        return "content: expected a string or a non-empty array of content blocks"
    for index, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        source = block.get("source") if isinstance(block, dict) else None
        if kind == "text":
            if not isinstance(block.get("text"), str) or not block["text"]:
                return f"content.{index}.text: text content blocks must be non-empty"
            if not block["text"].strip():
                return f"content.{index}.text: text content blocks must contain non-whitespace text"
        elif kind in ("tool_use", "tool_result"):
            continue
        elif kind in ("image", "document"):
            if message.get("role") != "user":
                return f"content.{index}: {kind} blocks are only allowed in user turns"
            if not isinstance(source, dict):
                return f"content.{index}.source: Field required"
            allowed = {"image": IMAGE_MEDIA_TYPES, "document": ("application/pdf",)}[kind]
            if source.get("type") == "base64":
                if source.get("media_type") not in allowed:
                    return f"content.{index}.source.media_type: expected one of {allowed}"
                if not _is_base64(source.get("data")):
                    return f"content.{index}.source.data: invalid base64 data"
            elif source.get("type") == "text" and kind == "document":
                if source.get("media_type") != "text/plain" or not isinstance(
                        source.get("data"), str):
                    return f"content.{index}.source: a text source is text/plain data"
            elif source.get("type") != "url":
                return f"content.{index}.source.type: invalid source type"
        else:
            return f"content.{index}.type: unknown content block type {kind!r}"
    return None


def _ollama_error(message: dict, final: bool) -> str | None:
    """``/api/chat``: ``content`` is a string; ``images`` a list of base64 strings (no data
    URL)."""
    if not isinstance(message.get("content", ""), str):
        return "content: expected a string"
    images = message.get("images")
    if images is not None and (not isinstance(images, list) or not all(
            _is_base64(image) for image in images)):
        return "images: expected a list of base64-encoded images"
    return None


# A Claude model id's version: claude-sonnet-4-5(-20250929), claude-opus-4(-20250514)...
_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2})(?!\d))?")


def anthropic_prefill_error(body: dict) -> str | None:
    """What the Messages API says of a request whose last message is an assistant turn (a
    prefill, which the model continues) when it refuses it, or None."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if (body.get("thinking") or {}).get("type") == "enabled" \
            and blocks[0].get("type") not in ("thinking", "redacted_thinking"):
        return (f"messages.{len(messages) - 1}.content.0.type: Expected `thinking` or "
                f"`redacted_thinking`, but found `{blocks[0].get('type')}`. When `thinking` is "
                "enabled, a final `assistant` message must start with a thinking block. We "
                "recommend you include thinking blocks from previous turns. To avoid this "
                "requirement, disable `thinking`. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking")
    version = _CLAUDE_VERSION.match(str(body.get("model")))
    if version and (int(version[1]), int(version[2] or 0)) >= (4, 6):
        return ("This model does not support assistant message prefill. The conversation "
                "must end with a user message.")
    text = blocks[-1].get("text") if blocks[-1].get("type") == "text" else None
    if text is not None and text != text.rstrip():
        return "messages: final assistant content cannot end with trailing whitespace"
    return None


def refused_url() -> str:
    """A URL on a local port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class FakeProviderCase:
    """Mixed into an Odoo test class: ``cls.fake``, a fake provider server started once for
    the class (requiring ``fake_api_key``, if set) and emptied before each test."""

    fake_api_key: str | None = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        allow_provider_requests(cls)
        cls.fake = FakeProvider.start(api_key=cls.fake_api_key)
        cls.addClassCleanup(cls.fake.stop)

    def setUp(self):
        super().setUp()
        self.fake.reset()


def allow_provider_requests(test_class) -> None:
    """Let an Odoo test class's providers reach the fake; call in ``setUpClass`` after
    ``super()``.

    Odoo's ``BaseCase`` wraps ``requests.Session.send`` in every standard test: it refuses
    non-local hosts (kept here), but compares the timeout with a number, which fails on the
    ``(connect, read)`` tuple the provider layer passes, and raises timeouts below 10 s to
    10 s, which would make stall tests slow. This wrapper sends local requests as asked, and
    also names under the reserved ``.invalid`` domain, which can never resolve (unknown-host
    tests). The only Odoo import of this module, so the rest stays usable without Odoo.
    """
    from unittest.mock import patch

    import requests
    from odoo.tests.common import BlockedRequest, _super_send

    def send(session, request, **kwargs):
        host = urlsplit(request.url).hostname or ""
        if host in ("127.0.0.1", "localhost") or host.endswith(".invalid"):
            return _super_send(session, request, **kwargs)
        raise BlockedRequest(f"External requests verboten (was {request.method} {request.url})")

    patcher = patch.object(requests.sessions.Session, "send", send)
    patcher.start()
    test_class.addClassCleanup(patcher.stop)


class Unresponsive:
    """A listener whose accept queue is full, so new connections time out (a provider that
    is down behind a firewall). Use as a context manager; ``url`` is its address."""

    def __enter__(self) -> Unresponsive:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        port = self._listener.getsockname()[1]
        # With a backlog of 0 the queue holds one connection: fill it, never accept.
        self._filler = socket.create_connection(("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info) -> None:
        self._filler.close()
        self._listener.close()


class Silent:
    """A listener that takes connections (the kernel completes them) and never answers: a
    provider that hangs after the connection. Use as a context manager; ``url`` is its
    address."""

    def __enter__(self) -> Silent:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        return self

    def __exit__(self, *exc_info) -> None:
        self._listener.close()


# Rendering: steps -> each provider's frames ---------------------------------------------

def _sse(data: Any, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


def _pieces(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, count)))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class _Renderer:
    """Turns steps into the frames of one format: a subclass gives one method a step type
    (``text``, ``reasoning``, ``tool_call``, ``finish``, ``stream_error``, ``ping``) returning
    frames; Wait, Pause, Cut and Raw pass through the same for every format."""

    content_type = "text/event-stream; charset=utf-8"
    handlers = {TextDelta: "text", ReasoningDelta: "reasoning", StreamedToolCall: "tool_call",
                Finish: "finish", StreamError: "stream_error", Refusal: "refusal", Ping: "ping"}

    def __init__(self, steps: list[Step], model: str):
        self.steps = steps
        self.model = model
        # The closing frames carry the token counts, wherever the script puts them.
        self.scripted_usage = next((step for step in steps if isinstance(step, Usage)), None)
        self.usage = self.scripted_usage or Usage(0, 0)

    def refusal(self, step):
        return self.text(TextDelta(step.text))

    def frames(self) -> list[Any]:
        frames = self.start()
        for step in self.steps:
            if isinstance(step, Raw):
                frames.append(step.data.encode() if isinstance(step.data, str) else step.data)
            elif isinstance(step, (Wait, Pause, Cut)):
                frames.append(step)
            elif not isinstance(step, Usage):
                frames += getattr(self, self.handlers[type(step)])(step)
        return frames

    def start(self) -> list[bytes]:
        return []


class _OpenAIRenderer(_Renderer):
    """``data: {chat.completion.chunk}`` events; with ``include_usage`` every chunk has
    ``"usage": null`` and a last one with empty ``choices`` has the counts; then ``[DONE]``."""

    def chunk(self, delta: dict | None, finish: str | None = None, **extra) -> bytes:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish}]
        return _sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                     "created": CREATED, "model": self.model, "system_fingerprint": "fp_fake",
                     "choices": choices, "usage": None, **extra})

    def start(self):
        self.calls = 0
        return [self.chunk({"role": "assistant", "content": "", "refusal": None})]

    def text(self, step):
        return [self.chunk({"content": step.text})]

    def reasoning(self, step):
        return [self.chunk({"reasoning_content": step.text})]

    def tool_call(self, step):
        index, self.calls = self.calls, self.calls + 1
        return [self.chunk({"tool_calls": [{"index": index, "id": step.id, "type": "function",
                                            "function": {"name": step.name, "arguments": ""}}]})
                ] + [self.chunk({"tool_calls": [{"index": index,
                                                 "function": {"arguments": piece}}]})
                     for piece in _pieces(step.arguments, step.fragments)]

    def finish(self, step):
        usage = self.usage
        return [self.chunk({}, step.reason),
                self.chunk(None, usage={
                    "prompt_tokens": usage.input_tokens,
                    "completion_tokens": usage.output_tokens,
                    "total_tokens": usage.input_tokens + usage.output_tokens}),
                _sse("[DONE]")]

    def refusal(self, step):
        return [self.chunk({"refusal": step.text})]

    def stream_error(self, step):
        # OpenRouter's mid-stream error: the error object, the choice finishing with "error"
        # and, when counted, the usage so far, in one chunk.
        usage = self.scripted_usage and {
            "prompt_tokens": self.usage.input_tokens,
            "completion_tokens": self.usage.output_tokens,
            "total_tokens": self.usage.input_tokens + self.usage.output_tokens}
        return [self.chunk({"content": ""}, "error", provider="Fake",
                           error={"code": step.type, "message": step.message}, usage=usage)]

    def ping(self, step):
        return [b": keep-alive\n\n"]


class _AnthropicRenderer(_Renderer):
    """``event:``/``data:`` pairs: ``message_start``, blocks opened, filled by deltas and
    closed (a thinking block ends with its ``signature_delta``), ``message_delta``,
    ``message_stop``."""

    stop_reasons = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                    "content_filter": "refusal", "refusal": "refusal"}

    def start(self):
        self.index, self.open_kind = -1, None
        return [_sse({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.usage.input_tokens, "output_tokens": 1}}},
            "message_start")]

    def delta(self, payload: dict) -> bytes:
        return _sse({"type": "content_block_delta", "index": self.index, "delta": payload},
                    "content_block_delta")

    def close(self) -> list[bytes]:
        frames = []
        if self.open_kind == "thinking":
            frames.append(self.delta({"type": "signature_delta", "signature": "EqQBCgIYAhIM"}))
        if self.open_kind:
            frames.append(_sse({"type": "content_block_stop", "index": self.index},
                               "content_block_stop"))
        self.open_kind = None
        return frames

    def open(self, kind: str, block: dict) -> list[bytes]:
        if self.open_kind == kind and kind != "tool_use":
            return []
        frames = self.close()
        self.index += 1
        self.open_kind = kind
        return frames + [_sse({"type": "content_block_start", "index": self.index,
                               "content_block": block}, "content_block_start")]

    def text(self, step):
        return self.open("text", {"type": "text", "text": ""}) + [
            self.delta({"type": "text_delta", "text": step.text})]

    def reasoning(self, step):
        return self.open("thinking", {"type": "thinking", "thinking": ""}) + [
            self.delta({"type": "thinking_delta", "thinking": step.text})]

    def tool_call(self, step):
        frames = self.open("tool_use", {"type": "tool_use", "id": step.id, "name": step.name,
                                        "input": {}})
        return frames + [self.delta({"type": "input_json_delta", "partial_json": piece})
                         for piece in [""] + _pieces(step.arguments, step.fragments)]

    def finish(self, step):
        return self.close() + [
            _sse({"type": "message_delta",
                  "delta": {"stop_reason": self.stop_reasons.get(step.reason, step.reason),
                            "stop_sequence": None},
                  "usage": {"output_tokens": self.usage.output_tokens}}, "message_delta"),
            _sse({"type": "message_stop"}, "message_stop")]

    def stream_error(self, step):
        return [_sse({"type": "error", "error": {"type": step.type, "message": step.message}},
                     "error")]

    def ping(self, step):
        return [_sse({"type": "ping"}, "ping")]


class _OllamaRenderer(_Renderer):
    """One JSON object a line; the last has ``"done": true``, ``done_reason`` and the
    counts. Ollama says "stop" after tool calls too."""

    content_type = "application/x-ndjson"
    done_reasons = {"length": "length"}

    def line(self, message: dict, **extra) -> bytes:
        return (json.dumps({"model": self.model, "created_at": CREATED_AT,
                            "message": {"role": "assistant", "content": "", **message},
                            "done": False, **extra}) + "\n").encode()

    def text(self, step):
        return [self.line({"content": step.text})]

    def reasoning(self, step):
        return [self.line({"thinking": step.text})]

    def tool_call(self, step):
        # Each call whole, arguments decoded; undecodable ones stay text.
        try:
            arguments = json.loads(step.arguments)
        except ValueError:
            arguments = step.arguments
        return [self.line({"tool_calls": [{"function": {"name": step.name,
                                                        "arguments": arguments}}]})]

    def finish(self, step):
        return [self.line({}, done=True, done_reason=self.done_reasons.get(step.reason, "stop"),
                          total_duration=1_200_000_000, load_duration=20_000_000,
                          prompt_eval_count=self.usage.input_tokens,
                          prompt_eval_duration=100_000_000,
                          eval_count=self.usage.output_tokens, eval_duration=1_000_000_000)]

    def stream_error(self, step):
        return [(json.dumps({"error": step.message}) + "\n").encode()]

    def ping(self, step):
        return []


RENDERERS = {"openai": _OpenAIRenderer, "azure": _OpenAIRenderer,
             "anthropic": _AnthropicRenderer, "ollama": _OllamaRenderer}


def _rechunk(frames: list[Any], size: int) -> list[Any]:
    """Join consecutive byte frames and cut them every ``size`` bytes."""
    result, pending = [], b""
    for frame in frames + [None]:
        if isinstance(frame, bytes):
            pending += frame
            continue
        result += [pending[i:i + size] for i in range(0, len(pending), size)]
        pending = b""
        if frame is not None:
            result.append(frame)
    return result


# HTTP ------------------------------------------------------------------------------------

class _ClientGone(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients hanging up (cancel, cut and timeout tests) are expected here, not errors.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked transfer encoding, as the providers stream

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def log_message(self, format, *args):  # noqa: A002 - keep test output clean
        pass

    def _handle(self) -> None:
        fake: FakeProvider = self.server.fake
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(self.command, url.path, dict(parse_qsl(url.query)),
                                 {name.lower(): value for name, value in self.headers.items()},
                                 body, parsed, self.client_address[1])
        with fake._received:
            fake.requests.append(record)
            fake._received.notify_all()
        try:
            answer = self._check(fake, record) or fake._take(self.command, url.path)
            if answer is None and is_embeddings_path(url.path):
                status, document = embeddings_answer(url.path, parsed)
                answer = _Answer(status=status, headers={"Content-Type": "application/json"},
                                 body=json.dumps(document).encode())
            if answer is None:
                answer = _Answer(status=501, headers={"Content-Type": "application/json"},
                                 body=json.dumps({"error": {
                                     "message": f"fake provider: nothing scripted for "
                                                f"{self.command} {url.path}"}}).encode())
            if answer.calls_tools and isinstance(record.json, dict) \
                    and not record.json.get("tools"):
                # Not a provider's answer: the test scripted what no model does.
                answer = _Answer(status=500, headers={"Content-Type": "application/json"},
                                 body=json.dumps({"error": {
                                     "message": "fake provider: a tool call was scripted for a "
                                                "request offering no tools"}}).encode())
            if answer.stream is None:
                self._send_plain(answer)
            else:
                self._send_stream(answer, record)
        except (_ClientGone, ConnectionError):
            record.disconnected.set()
            self.close_connection = True
        finally:
            record.finished.set()

    def _check(self, fake: FakeProvider, record: RecordedRequest) -> _Answer | None:
        """The answer the real API gives to a request without the right key or version, or
        with a message content it does not take."""
        return self._check_key(fake, record) or self._check_content(record)

    def _check_content(self, record: RecordedRequest) -> _Answer | None:
        fmt = next((fmt for fmt, (method, path) in CHAT_ROUTES.items() if record.method == method
                    and (record.path == path or fmt == "azure" and _AZURE_CHAT.match(record.path))),
                   None)
        if fmt is None or not isinstance(record.json, dict):
            return None
        error = content_error(fmt, record.json.get("messages")) or (
            fmt == "anthropic" and anthropic_prefill_error(record.json))
        if not error:
            return None
        return _Answer(status=400, headers={"Content-Type": "application/json"},
                       body=json.dumps(error_body(fmt, 400, error)).encode())

    def _check_key(self, fake: FakeProvider, record: RecordedRequest) -> _Answer | None:
        headers = record.headers
        if record.path.startswith("/v1/messages") or (
                record.path == "/v1/models" and "x-api-key" in headers):
            fmt, given = "anthropic", headers.get("x-api-key")
            if "anthropic-version" not in headers:
                return _Answer(status=400, headers={"Content-Type": "application/json"},
                               body=json.dumps(error_body(
                                   fmt, 400, "anthropic-version: header is required")).encode())
        elif record.path.startswith("/openai/"):
            fmt, given = "azure", headers.get("api-key")
        elif record.path.startswith("/api/"):
            return None  # Ollama takes no key
        else:
            fmt = "openai"
            given = headers.get("authorization", "").removeprefix("Bearer ")
        if fake.api_key is None or given == fake.api_key:
            return None
        message = ("invalid x-api-key" if fmt == "anthropic"
                   else "Incorrect API key provided.")
        return _Answer(status=401, headers={"Content-Type": "application/json"},
                       body=json.dumps(error_body(fmt, 401, message,
                                                  "invalid_api_key")).encode())

    def _send_plain(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def _send_stream(self, answer: _Answer, record: RecordedRequest) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for frame in answer.stream:
            if isinstance(frame, Wait):
                self._wait(frame.event)
            elif isinstance(frame, Pause):
                self._wait(threading.Event(), time.monotonic() + frame.seconds)
            elif isinstance(frame, Cut):
                # Drop the connection without the final chunk: a body cut short.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            elif frame:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        self.wfile.write(b"0\r\n\r\n")

    def _wait(self, event: threading.Event, deadline: float | None = None) -> None:
        """Block until ``event`` (or the ``time.monotonic()`` ``deadline``), noticing
        meanwhile a client that hangs up."""
        stopping = self.server.fake._stopping
        while not event.wait(0.01 if deadline is None
                             else max(0.0, min(0.01, deadline - time.monotonic()))):
            if deadline is not None and time.monotonic() >= deadline:
                return
            if stopping.is_set():
                raise _ClientGone
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                raise _ClientGone
