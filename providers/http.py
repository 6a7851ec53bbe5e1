"""HTTP for the wire modules, in one place: ``requests`` calls with (connect, read) timeouts,
mapping of every transport failure and error status to a :class:`~.base.ProviderError`,
bounded retry of 429 / 5xx before the first event, and cancellation that closes the socket.
"""

from __future__ import annotations

import html
import http.client
import http.cookiejar
import json
import os
import re
import socket
import threading
import time
from contextlib import closing
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3

from . import errors
from .base import (CancelToken, ChatEvent, ChatMessage, ChatOptions, Embeddings, Provider,
                   ProviderConfig, ProviderError, Retrying, ToolSpec)

T = TypeVar("T")

# A provider slow to accept a connection is down or unreachable: waiting the whole read
# timeout (minutes for long answers) would only delay the error.
CONNECT_TIMEOUT_MAX = 10.0
USER_AGENT = "llm_thread (Odoo 18)"
_CONTEXT_HINTS = re.compile(
    r"context[ _]length|context window|maximum context|prompt is too long|too many tokens",
    re.IGNORECASE)
# What a broken, stalled or aborted body read raises, through requests, urllib3 or http.client.
_READ_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError,
                http.client.HTTPException, OSError)

Parser = Callable[[Iterator[bytes], str], Iterator[ChatEvent]]

# Connections kept alive per provider host: enough for the streams one process serves at once
# (a gevent process serves hundreds), so none is discarded with urllib3's "pool is full".
POOL_SIZE = 256
# What may follow a format's end mark ([DONE], message_stop, "done": true) before the body
# ends, read so that the connection is kept (see _drain).
DRAIN_MAX_BYTES = 65536
DRAIN_TIMEOUT = 1.0
# How a kept-alive connection that the other end dropped while it was idle fails at its next
# use, as the request goes out (see HttpClient._request).
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

_shared_lock = threading.Lock()
_shared = None  # (os pid, requests.Session)


def shared_session() -> requests.Session:
    """The process's session, shared by every provider: calls reuse kept-alive connections
    instead of paying a TCP and TLS handshake per model call (each turn of a tool loop is
    one). Created after a prefork worker forks, never inherited; cookies are refused, so
    nothing a provider sets for one user's call is sent with another's."""
    global _shared  # noqa: PLW0603 - one per process, made on first use
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            session = requests.Session()
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=POOL_SIZE)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _shared = (os.getpid(), session)
        return _shared[1]


class HttpClient:
    """The transport of one provider; ``label`` names it in error messages."""

    def __init__(self, config: ProviderConfig, label: str,
                 session: requests.Session | None = None):
        self.config = config
        self.label = label
        self.session = session or shared_session()

    @property
    def timeout(self) -> tuple[float, float]:
        return min(self.config.timeout, CONNECT_TIMEOUT_MAX), self.config.timeout

    def get_json(self, url: str, *, headers: dict[str, str],
                 params: dict[str, Any] | None = None) -> Any:
        """GET a JSON document (model lists), with the bounded retry."""
        return self._json("GET", url, headers=headers, params=params)

    def post_json(self, url: str, *, headers: dict[str, str], body: dict[str, Any],
                  model: str = "", params: dict[str, Any] | None = None) -> Any:
        """POST ``body`` and return the JSON answer (embeddings), with the bounded retry."""
        return self._json("POST", url, headers=headers, params=params, json_body=body,
                          model=model)

    def _json(self, method: str, url: str, **send: Any) -> Any:
        def attempt() -> Iterator[Any]:
            with self._send(method, url, **send) as response:
                try:
                    yield response.json()
                except ValueError:
                    raise errors.malformed(
                        self.label, detail=f"not JSON: {errors.short(response.text)}") from None

        # Consumed to the end, so that the response is closed before returning.
        (document,) = self._retrying(attempt, None, announce=False)
        return document

    def stream(self, url: str, *, headers: dict[str, str], body: dict[str, Any],
               parse: Parser, model: str, cancel: CancelToken | None = None,
               params: dict[str, Any] | None = None) -> Iterator[ChatEvent]:
        """POST ``body`` and yield the events ``parse`` reads from the streamed answer."""
        return self._retrying(
            lambda: self._stream_once(url, headers, body, parse, model, cancel, params), cancel,
            announce=True)

    # Retry ------------------------------------------------------------------------------

    def _retrying(self, attempt: Callable[[], Iterator[T]], cancel: CancelToken | None, *,
                  announce: bool) -> Iterator[T]:
        """Run ``attempt`` again on a retryable error while it has yielded nothing: past the
        first event the caller already shows part of an answer, which a retry would repeat.
        ``announce`` yields a :class:`~.base.Retrying` before each wait, so that a chat can
        say why the answer has not started yet."""
        policy = self.config.retry
        retries, waited = 0, 0.0
        while True:
            yielded = False
            try:
                # closing(): a caller dropping the iterator closes the attempt, hence the
                # connection, at once rather than whenever the garbage collector runs.
                with closing(attempt()) as items:
                    for item in items:
                        yielded = True
                        yield item
                return
            except ProviderError as error:
                if yielded or not error.retryable:
                    raise
                delay = error.retry_after
                if delay is None:
                    delay = min(policy.max_delay, policy.initial_delay * 2 ** retries)
                if retries >= policy.max_retries or waited + delay > policy.max_total_wait:
                    if not retries:
                        error.retryable = False
                        raise
                    raise errors.gave_up(error, retries, waited) from None
                if announce:
                    yield Retrying(delay, error.kind)
                self._sleep(delay, cancel)
                retries += 1
                waited += delay

    def _sleep(self, seconds: float, cancel: CancelToken | None) -> None:
        sleep = self.config.retry.sleep
        if sleep is not None:
            sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)
        if cancel is not None and cancel.cancelled:
            raise errors.cancelled(self.label)

    # One request ------------------------------------------------------------------------

    def _stream_once(self, url, headers, body, parse, model, cancel, params,
                     ) -> Iterator[ChatEvent]:
        response = self._send("POST", url, headers=headers, json_body=body, params=params,
                              stream=True, model=model, cancel=cancel)
        done = False

        def abort() -> None:
            if not done:
                _shutdown(response)

        if cancel is not None:
            cancel.on_cancel(abort)
        chunks = self._chunks(response, cancel)
        try:
            for event in parse(chunks, self.label):
                if cancel is not None and cancel.cancelled:
                    raise errors.cancelled(self.label)
                yield event
            _drain(response, chunks)
        finally:
            # Also reached when the caller drops the iterator: the connection closes then too.
            done = True
            response.close()

    def _send(self, method: str, url: str, *, headers: dict[str, str],
              json_body: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
              stream: bool = False, model: str = "",
              cancel: CancelToken | None = None) -> requests.Response:
        """One request; ``model`` is the model it is for, empty for a model list (get_json:
        Test connection, Fetch models), whose failures then point at what a list depends
        on (the key, the base URL, the API format) rather than at a model, request options
        or the timeout."""
        if cancel is not None and cancel.cancelled:
            raise errors.cancelled(self.label)
        headers = {"User-Agent": USER_AGENT, **headers}
        try:
            response = self._request(method, url, headers=headers, json=json_body,
                                     params=params, stream=stream)
        except requests.exceptions.ConnectTimeout as exc:
            raise errors.connect_timeout(self.label, seconds=self.timeout[0],
                                         detail=str(exc)) from None
        except requests.exceptions.ReadTimeout as exc:
            timeout = errors.read_timeout if model else errors.list_timeout
            raise timeout(self.label, seconds=self.timeout[1], detail=str(exc)) from None
        except requests.exceptions.SSLError as exc:
            raise errors.tls_failed(self.label, url=url, detail=_reason(exc)) from None
        except requests.exceptions.ConnectionError as exc:
            raise self._connection_error(exc, url) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise errors.invalid_url(self.label, url=url, detail=str(exc)) from None
        if response.status_code >= 400:
            with response:
                raise self._status_error(response, url, model)
        return response

    def _request(self, method: str, url: str, **send: Any) -> requests.Response:
        """The ``requests`` call, made once more at once, on a new connection, when the one
        it went out on turned out closed by the other end: a kept-alive connection that the
        provider, or a proxy between, dropped while idle without a word (urllib3 discards
        those it sees closed) fails at its next use, before any answer; the OpenAI and
        Anthropic SDKs retry such failures the same way."""
        try:
            return self.session.request(method, url, timeout=self.timeout, **send)
        except requests.exceptions.ConnectionError as exc:
            if not _caused_by(exc, STALE_CONNECTION):
                raise
        return self.session.request(method, url, timeout=self.timeout, **send)

    def _connection_error(self, exc: Exception, url: str) -> ProviderError:
        if _caused_by(exc, socket.gaierror):
            return errors.unknown_host(self.label, host=urlsplit(url).hostname or url,
                                       detail=_reason(exc))
        if _caused_by(exc, ConnectionRefusedError):
            return errors.refused(self.label, url=url, detail=_reason(exc))
        return errors.connection_failed(self.label, url=url, detail=_reason(exc))

    def _status_error(self, response: requests.Response, url: str, model: str,
                      ) -> ProviderError:
        status = response.status_code
        detail, code, from_provider = error_detail(response)
        answer = {"status": status, "detail": detail}
        retry_after = parse_retry_after(response.headers, self.config.retry.clock)
        if status == 401:
            return errors.bad_key(self.label, **answer)
        if status == 403:
            return (errors.forbidden if model else errors.list_forbidden)(self.label, **answer)
        if status == 404 and model and from_provider:
            # A JSON error: the API answered and did not know the model.
            return errors.model_not_found(self.label, model=model, **answer)
        if status in (404, 405, 501):
            # The URL does not lead to the API: nothing there, or a server that takes no
            # such request there (405, 501), which retrying cannot change.
            return errors.url_not_found(self.label, url=response.url or url, **answer)
        if status == 429:
            if code == "insufficient_quota":  # OpenAI: retrying cannot help
                return errors.quota_exceeded(self.label, **answer)
            return errors.rate_limited(self.label, retry_after=retry_after, **answer)
        if status >= 500:
            return errors.server_error(self.label, retry_after=retry_after, **answer)
        if not model:
            return errors.list_refused(self.label, **answer)
        if code == "context_length_exceeded" or _CONTEXT_HINTS.search(detail):
            return errors.context_too_long(self.label, **answer)
        return errors.bad_request(self.label, **answer)

    def _chunks(self, response: requests.Response,
                cancel: CancelToken | None) -> Iterator[bytes]:
        """The body as it arrives, transport failures mapped to provider errors."""
        try:
            for chunk in response.iter_content(chunk_size=None):
                if cancel is not None and cancel.cancelled:
                    break
                yield chunk
        except _READ_ERRORS as exc:
            if cancel is not None and cancel.cancelled:
                raise errors.cancelled(self.label) from None
            if _caused_by(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
                raise errors.read_timeout(self.label, seconds=self.timeout[1],
                                          detail=str(exc)) from None
            raise errors.stream_cut(self.label, detail=_reason(exc)) from None
        if cancel is not None and cancel.cancelled:
            raise errors.cancelled(self.label)


class HttpProvider(Provider):
    """Base of the wire modules: a provider talking through one :class:`HttpClient`.
    ``session`` lets a caller share or instrument the ``requests`` session.

    A wire module gives its ``parser`` (body chunks -> events), ``_chat_url``, ``_headers``
    and ``request_body``; ``_params`` is the query string (Azure's api-version).
    """

    parser: Parser

    def __init__(self, config: ProviderConfig, session: requests.Session | None = None):
        super().__init__(config)
        self.http = HttpClient(config, self.label, session)

    def chat(self, model: str, messages: list[ChatMessage], tools: list[ToolSpec] = (),
             options: ChatOptions = ChatOptions(), cancel: CancelToken | None = None,
             ) -> Iterator[ChatEvent]:
        return self.http.stream(self._chat_url(model), headers=self._headers(),
                                params=self._params(), parse=self.parser, model=model,
                                body=self.request_body(model, messages, tools, options),
                                cancel=cancel)

    def request_body(self, model: str, messages: list[ChatMessage], tools: list[ToolSpec],
                     options: ChatOptions) -> dict[str, Any]:
        raise NotImplementedError

    def _chat_url(self, model: str) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _params(self) -> dict[str, str] | None:
        return None

    #: Texts sent in one embeddings request; :meth:`embed` splits longer lists.
    embed_batch_size = 64

    def embed(self, model: str, texts: list[str], dimensions: int | None = None) -> Embeddings:
        """In batches of ``embed_batch_size``."""
        if not self.supports_embeddings:
            raise errors.no_embeddings(self.label)
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), self.embed_batch_size):
            batch = texts[start:start + self.embed_batch_size]
            result = self._embed_batch(model, batch, dimensions)
            if len(result.vectors) != len(batch):
                raise errors.malformed(self.label, detail=(
                    f"{len(result.vectors)} embeddings for {len(batch)} texts"))
            vectors.extend(result.vectors)
            tokens += result.input_tokens
        return Embeddings(vectors, tokens)

    def _embed_batch(self, model: str, texts: list[str], dimensions: int | None) -> Embeddings:
        raise NotImplementedError

    def _base(self) -> str:
        return self.config.base_url.rstrip("/")


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPTS_AND_STYLES = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def page_text(text: str) -> str:
    """What a person reads of an error answer: a web page (a wrong base URL reaching a web
    server or a proxy's error page) by its title, else its text without markup, scripts or
    styles; any other body as it is."""
    if "<" not in text:
        return text
    title = _TITLE.search(text)
    if title and title.group(1).strip():
        return html.unescape(_TAG.sub(" ", title.group(1)))
    return html.unescape(_TAG.sub(" ", _SCRIPTS_AND_STYLES.sub(" ", text)))


def error_detail(response: requests.Response) -> tuple[str, str, bool]:
    """``(message, code, from_provider)`` of an error answer.

    Understands OpenAI and compatibles (``{"error": {"message", "code", "type"}}`` or vLLM's
    top-level ``message``), Anthropic (``{"type": "error", "error": {"type", "message"}}``),
    Ollama (``{"error": "..."}``) and FastAPI servers (``{"detail": ...}``);
    ``from_provider`` is false when the body is not such a JSON error (proxy page, nothing).
    """
    try:
        body = response.json()
    except ValueError:
        return errors.short(page_text(response.text)) or response.reason or "", "", False
    if not isinstance(body, dict):
        return errors.short(json.dumps(body)), "", False
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message") or json.dumps(error)
        code = error.get("code") or error.get("type") or ""
    elif isinstance(error, str):
        message, code = error, ""
    elif "message" in body or "detail" in body:
        message = body.get("message") or body.get("detail")
        code = body.get("code") or body.get("type") or ""
    else:
        return errors.short(json.dumps(body)), "", False
    if not isinstance(message, str):
        message = json.dumps(message)
    return errors.short(message), str(code), True


def parse_retry_after(headers, clock: Callable[[], float]) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or OpenAI's
    ``retry-after-ms``; ``None`` when absent or unreadable."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - clock())
    except (TypeError, ValueError):
        return None


def _drain(response: requests.Response, chunks: Iterator[bytes]) -> None:
    """Read the rest of a body whose answer is complete: the parsers stop at their format's
    end mark, before the body's closing chunk, and ``requests`` closes a connection whose
    body was not read to its end instead of handing it back to the pool, so every model call
    paid a new TCP and TLS handshake. A server sending more than a few bytes after the end
    mark, or nothing within ``DRAIN_TIMEOUT``, loses its connection (the caller closes it)
    rather than holding the answer's end up."""
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        return
    timeout = sock.gettimeout()
    sock.settimeout(DRAIN_TIMEOUT)
    received = 0
    try:
        for chunk in chunks:
            received += len(chunk)
            if received > DRAIN_MAX_BYTES:
                return  # not kept: the caller closes it
    except ProviderError:
        return  # timed out or cut: urllib3 closed the connection
    sock.settimeout(timeout)  # kept: as the next call expects it


def _shutdown(response: requests.Response) -> None:
    """Make a read blocked in another thread return at once, and the server see the
    connection end: ``close()`` alone does not wake a blocked ``recv()``, ``shutdown()`` does.
    Closing the response is left to the reading thread (``http.client`` is not thread-safe)."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        response.close()
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _caused_by(exc: BaseException, types) -> bool:
    """Whether ``exc`` or what it wraps (requests and urllib3 nest their causes) is ``types``."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, types):
            return True
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


# The repr of an object in an exception's text ("<urllib3.connection.HTTPConnection object at
# 0x7fd0...>: Failed to establish a new connection: ..."): nothing for whoever reads it.
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>(?::\s*|,\s*)?")


def _reason(exc: BaseException) -> str:
    """The innermost readable cause, e.g. "Failed to establish a new connection: [Errno 111]
    Connection refused", without the objects' reprs."""
    reason = exc
    for _depth in range(8):  # bounded: a cause chain is never that deep
        inner = getattr(reason, "reason", None) or next(
            (arg for arg in getattr(reason, "args", ()) if isinstance(arg, BaseException)), None)
        if not isinstance(inner, BaseException):
            break
        reason = inner
    return errors.short(_OBJECT_REPR.sub("", str(reason)))
