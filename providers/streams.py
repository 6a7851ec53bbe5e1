"""Stream framing and answer bookkeeping shared by the wire modules.

- :func:`iter_lines` splits raw body chunks into lines (``\\n``, ``\\r\\n`` or ``\\r``), however
  the network cut them;
- :func:`iter_sse` reads Server-Sent Events (OpenAI, Anthropic) as the WHATWG spec defines them:
  ``data:`` lines joined by ``\\n``, ``event:`` field, ``:`` comments, blank line dispatch;
- :func:`iter_ndjson` reads newline-delimited JSON (Ollama);
- :class:`AnswerBuilder` turns parsed pieces into normalised events and enforces what every
  format shares: tool-call arguments are JSON objects, an answer is not empty, ``Usage`` then
  ``Finish`` close it, a failure keeps the counts that arrived before it (:func:`parser`).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from . import errors
from .base import (ChatEvent, Finish, ProviderError, ReasoningDelta, TextDelta, ToolCall,
                   ToolCallEvent, Usage)


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines of the body without their terminator; a last unterminated line is yielded too."""
    pending = b""
    for chunk in chunks:
        lines = (pending + chunk).splitlines(keepends=True)
        pending = b""
        # Keep an unfinished last line, and one ending in "\r" that may be the first half of
        # a "\r\n" split between two chunks.
        if lines and not lines[-1].endswith(b"\n"):
            pending = lines.pop()
        for line in lines:
            yield line.rstrip(b"\r\n")
    if pending:
        yield pending.rstrip(b"\r\n")


class SSEvent(NamedTuple):
    event: str  # "message" when the server sent no ``event:`` field
    data: str


def iter_sse(chunks: Iterable[bytes]) -> Iterator[SSEvent]:
    """Server-Sent Events of the body. An event still open at the end is dropped, as the spec
    says: a cut stream shows as a missing final event, which the wire module detects."""
    event_type, data = "", []
    for raw in iter_lines(chunks):
        if not raw:
            if data:
                yield SSEvent(event_type or "message", "\n".join(data))
            event_type, data = "", []
            continue
        line = raw.decode("utf-8", errors="replace")
        if line[0] == ":":
            continue  # comment, used as keep-alive
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        # "id" and "retry" only matter to browsers that reconnect; unknown fields are ignored.


def iter_ndjson(chunks: Iterable[bytes], label: str) -> Iterator[dict[str, Any]]:
    """JSON objects of a newline-delimited JSON body; blank lines are skipped."""
    for line in iter_lines(chunks):
        if line.strip():
            yield loads_object(line, label)


def loads_object(text: str | bytes, label: str) -> dict[str, Any]:
    """Parse one JSON object of a stream, or raise a "malformed answer" error."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise errors.malformed(label, detail=f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise errors.malformed(
            label, detail=f"expected a JSON object, got {errors.short(text)}")
    return value


class AnswerBuilder:
    """Bookkeeping of one streamed answer, the same for every wire format."""

    def __init__(self, label: str):
        self.label = label
        self.has_content = False
        self.refused = False
        self.tool_calls = 0
        self.usage: Usage | None = None
        # The counts received so far, None until the provider sent them.
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def text(self, text: str) -> TextDelta:
        self.has_content = self.has_content or bool(text)
        return TextDelta(text)

    def refusal(self, text: str) -> TextDelta:
        """The model's refusal (OpenAI ``delta.refusal``): shown as the answer, which then
        finishes with the reason "refusal"."""
        self.refused = self.refused or bool(text)
        return self.text(text)

    @staticmethod
    def reasoning(text: str) -> ReasoningDelta:
        return ReasoningDelta(text)

    def tool_call(self, call_id: str, name: str, arguments: str | dict | None) -> ToolCallEvent:
        """``arguments`` as the provider sent them: a JSON text (empty for no arguments) or an
        already decoded object."""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise errors.bad_tool_arguments(
                    self.label, tool=name, detail=f"{exc}: {errors.short(arguments)}") from None
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise errors.bad_tool_arguments(
                self.label, tool=name, detail=f"not an object: {arguments!r}")
        self.has_content = True
        self.tool_calls += 1
        return ToolCallEvent(ToolCall(call_id, name, arguments))

    def set_usage(self, input_tokens: int | None, output_tokens: int | None) -> None:
        self.usage = Usage(int(input_tokens or 0), int(output_tokens or 0))
        self.input_tokens, self.output_tokens = self.usage.input_tokens, self.usage.output_tokens

    def set_input_tokens(self, input_tokens: int) -> None:
        """Input counted before the answer (Anthropic's ``message_start``): kept if the
        stream fails before its final counts."""
        self.input_tokens = int(input_tokens)

    def finish(self, reason: str) -> list[ChatEvent]:
        """The closing events; an answer with neither text nor tool call is an error."""
        if not self.has_content:
            raise errors.empty_answer(self.label, reason=reason)
        if self.tool_calls and reason == "stop":
            # Ollama and some OpenAI-compatible servers say "stop" after tool calls.
            reason = "tool_calls"
        if self.refused:
            reason = "refusal"  # OpenAI finishes a refusal with "stop"
        return ([self.usage] if self.usage else []) + [Finish(reason)]


Parse = Callable[[Iterable[bytes], AnswerBuilder], Iterator[ChatEvent]]


def parser(parse: Parse) -> Callable[[Iterable[bytes], str], Iterator[ChatEvent]]:
    """A wire module's ``parse_stream(chunks, label)``, from ``parse(chunks, answer)``: a
    :class:`~.base.ProviderError` raised while it reads (in-stream error, cut, timeout) leaves
    carrying the counts the provider had sent, which the caller records instead of an
    estimate: tokens a provider counted were billed."""

    @functools.wraps(parse)
    def parse_stream(chunks: Iterable[bytes], label: str) -> Iterator[ChatEvent]:
        answer = AnswerBuilder(label)
        try:
            yield from parse(chunks, answer)
        except ProviderError as error:
            error.input_tokens, error.output_tokens = answer.input_tokens, answer.output_tokens
            raise
    return parse_stream
