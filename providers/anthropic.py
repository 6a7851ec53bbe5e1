"""Anthropic Messages API (``POST {base_url}/v1/messages``), streamed as SSE.

The base URL is ``https://api.anthropic.com`` (without ``/v1``, as in the Anthropic SDKs'
``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from . import errors
from .base import (Attachment, CancelToken, ChatEvent, ChatMessage, ChatOptions, ModelInfo,
                   TextDelta, ToolSpec)
from .http import HttpProvider
from .streams import AnswerBuilder, iter_sse, loads_object, parser

API_VERSION = "2023-06-01"
# The API requires max_tokens; this fits every current model's output limit.
DEFAULT_MAX_TOKENS = 4096
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
MIN_THINKING_BUDGET = 1024  # the API refuses less
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "refusal",
}
# Worth a retry while nothing was shown: the same conditions as HTTP 529 and 500.
RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error"}
# The models that continue a final assistant message (Anthropic's "prefill"), by their ids and
# aliases: Claude 3, 3.5 and 3.7, and Claude 4, 4.1 and 4.5. Claude 4.6 and later answer one
# with a 400 (Anthropic's migration guide), as any model not known here may.
PREFILL_MODELS = re.compile(
    r"claude-(?:3-.+|(?:opus|sonnet|haiku)-4(?:-[015])?(?:-\d{8}|-latest)?)")


def to_anthropic_messages(messages: Iterable[ChatMessage],
                          ) -> tuple[str, list[dict[str, Any]]]:
    """Stored messages as ``(system, messages)`` of the Messages API.

    System prompts join the top-level ``system`` field; tool calls become ``tool_use`` blocks
    of the assistant turn and results ``tool_result`` blocks of the next user turn; turns of
    the same role merge into one, and empty text blocks (which the API refuses) are left out.
    A user message's attachments come before its text, as Anthropic advises for images (see
    :func:`attachment_block`).
    """
    system, turns = [], []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for message in messages:
        text = [{"type": "text", "text": message.content}] if message.content else []
        if message.role == "system":
            system.append(message.content)
        elif message.role == "user":
            add("user", [attachment_block(attachment)
                         for attachment in message.attachments] + text)
        elif message.role == "assistant":
            add("assistant", text + [
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls])
        else:
            result = {"type": "tool_result", "tool_use_id": message.tool_call_id,
                      "content": message.content}
            if message.is_error:
                result["is_error"] = True
            add("user", [result])
    return "\n\n".join(part for part in system if part), [turn for turn in turns
                                                         if turn["content"]]


def attachment_block(attachment: Attachment) -> dict[str, Any]:
    """An ``image`` block for an image, a ``document`` block for a file: a PDF as its base64
    bytes (Claude reads its pages, figures included), any other file as its extracted text
    (a plain-text document source). Both named by ``title``, so answers can cite them."""
    if attachment.is_image:
        return {"type": "image", "source": {
            "type": "base64", "media_type": attachment.mimetype, "data": attachment.data}}
    if attachment.mimetype == "application/pdf" and attachment.data:
        source = {"type": "base64", "media_type": "application/pdf", "data": attachment.data}
    else:
        source = {"type": "text", "media_type": "text/plain", "data": attachment.text}
    return {"type": "document", "source": source, "title": attachment.name}


def in_tool_loop(messages: list[ChatMessage]) -> bool:
    """Whether the answer continues an assistant turn that called tools (the messages after
    the last user message hold a tool call)."""
    for message in reversed(messages):
        if message.role == "user":
            return False
        if message.role == "assistant" and message.tool_calls:
            return True
    return False


def thinking_budget(messages: list[ChatMessage], options: ChatOptions) -> int | None:
    """The ``thinking.budget_tokens`` of a request, or None for no thinking.

    Only a reasoning model thinks, and not inside a tool loop: the API then wants the signed
    thinking blocks of the turn back, which stored messages do not keep, so that request goes
    without thinking instead of failing. The budget must be below ``max_tokens``, which counts
    thinking too: under a given limit (the assistant's, or what a hard budget leaves) thinking
    gets at most half of it, and none when that half is below the API's minimum.
    """
    budget = options.thinking_budget or THINKING_BUDGETS.get(options.reasoning_effort or "")
    if not budget or not options.reasoning_model or in_tool_loop(messages):
        return None
    budget = max(budget, MIN_THINKING_BUDGET)
    if options.max_tokens and budget >= options.max_tokens:
        budget = options.max_tokens // 2
    return budget if budget >= MIN_THINKING_BUDGET else None


def rejoin_prefill(events: Iterable[ChatEvent], whitespace: str) -> Iterator[ChatEvent]:
    """The events of an answer continuing a prefill that was sent without its trailing
    ``whitespace`` (the API refuses it): the caller's copy of the text keeps it, so the first
    characters of the answer that repeat it are left out (after "Done." the model writes
    "\\n\\nNext"), and where the model goes on without it, it stays. The caller's text plus
    the text events is then the answer, nothing doubled or lost at the join."""
    for event in events:
        if whitespace and isinstance(event, TextDelta):
            text = event.text
            same = 0
            while same < min(len(text), len(whitespace)) and text[same] == whitespace[same]:
                same += 1
            if same == len(text):  # all of it repeats the whitespace: more may follow
                whitespace = whitespace[same:]
                continue
            whitespace = ""
            event = TextDelta(text[same:])
        yield event


@parser
def parse_stream(chunks: Iterable[bytes], answer: AnswerBuilder) -> Iterator[ChatEvent]:
    """Events of a streamed Messages answer.

    ``message_start`` carries the input tokens (kept if the stream fails later), each content
    block is opened, filled by deltas (``text_delta``, ``thinking_delta``, ``input_json_delta``) and closed, then
    ``message_delta`` gives the stop reason and output tokens and ``message_stop`` ends the
    stream. A tool call is emitted when its block closes. Event types unknown here are
    skipped, as Anthropic's versioning policy asks of clients.
    """
    label = answer.label
    blocks: dict[int, dict[str, Any]] = {}
    input_tokens = output_tokens = 0
    stop_reason = None
    for event in iter_sse(chunks):
        data = loads_object(event.data, label)
        kind = data.get("type") or event.event
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                yield answer.text(delta.get("text", ""))
            elif delta_type == "thinking_delta":
                yield answer.reasoning(delta.get("thinking", ""))
            elif delta_type == "input_json_delta":
                block = blocks.get(data.get("index"))
                if block is None:
                    raise errors.malformed(
                        label, detail=f"delta for unknown block {data.get('index')}")
                block["json"].append(delta.get("partial_json", ""))
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                blocks[data.get("index")] = {**block, "json": []}
        elif kind == "content_block_stop":
            block = blocks.pop(data.get("index"), None)
            if block is not None:
                # Without any delta the arguments are the (empty) "input" of the start event.
                arguments = "".join(block["json"]) if block["json"] else block.get("input")
                yield answer.tool_call(block.get("id", ""), block.get("name", ""), arguments)
        elif kind == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            # Cached prompt tokens are counted apart from "input_tokens"; all are input.
            input_tokens = sum(usage.get(key) or 0 for key in (
                "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
            # Its output count is only the first token's: not kept if the stream fails.
            output_tokens = usage.get("output_tokens") or 0
            answer.set_input_tokens(input_tokens)
        elif kind == "message_delta":
            stop_reason = (data.get("delta") or {}).get("stop_reason") or stop_reason
            output_tokens = (data.get("usage") or {}).get("output_tokens", output_tokens)
        elif kind == "message_stop":
            answer.set_usage(input_tokens, output_tokens)
            yield from answer.finish(FINISH_REASONS.get(stop_reason, stop_reason or "stop"))
            return
        elif kind == "error":
            error = data.get("error") or {}
            build = (errors.stream_overloaded if error.get("type") in RETRYABLE_STREAM_ERRORS
                     else errors.stream_error)
            raise build(label, detail=errors.short(error.get("message") or str(error)))
        # "ping" keeps the connection alive; other types are newer than this module.
    raise errors.stream_cut(label, detail="no message_stop event")


class AnthropicProvider(HttpProvider):
    """Messages API client."""

    brand = "Anthropic"
    parser = staticmethod(parse_stream)

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.config.api_key, "anthropic-version": API_VERSION,
                **self.config.extra_headers}

    def _chat_url(self, model: str) -> str:
        return f"{self._base()}/v1/messages"

    def supports_prefill(self, model: str, messages: list[ChatMessage],
                         options: ChatOptions) -> bool:
        """A text (not tool calls) to a model that takes prefills, without thinking: with it
        the API wants the final assistant message to start with a signed thinking block,
        which stored answers do not keep."""
        last = messages[-1] if messages else None
        return bool(last and last.role == "assistant" and last.content.strip()
                    and not last.tool_calls and PREFILL_MODELS.fullmatch(model)
                    and thinking_budget(messages, options) is None)

    def chat(self, model: str, messages: list[ChatMessage], tools: list[ToolSpec] = (),
             options: ChatOptions = ChatOptions(), cancel: CancelToken | None = None,
             ) -> Iterator[ChatEvent]:
        events = super().chat(model, messages, tools, options, cancel)
        prefill = messages[-1].content if messages and messages[-1].role == "assistant" else ""
        whitespace = prefill[len(prefill.rstrip()):]
        return rejoin_prefill(events, whitespace) if whitespace else events

    @staticmethod
    def request_body(model: str, messages: list[ChatMessage], tools: list[ToolSpec],
                     options: ChatOptions) -> dict[str, Any]:
        system, turns = to_anthropic_messages(messages)
        last = turns[-1]["content"][-1] if turns and turns[-1]["role"] == "assistant" else {}
        if last.get("type") == "text":
            # A prefill goes without its trailing whitespace, which the API refuses; chat()
            # joins the answer to the whole text (rejoin_prefill).
            last["text"] = last["text"].rstrip()
        body = {"model": model, "max_tokens": options.max_tokens or DEFAULT_MAX_TOKENS,
                "messages": turns, "stream": True}
        if system:
            body["system"] = system
        if tools:
            body["tools"] = [{"name": tool.name, "description": tool.description,
                              "input_schema": tool.parameters} for tool in tools]
        budget = thinking_budget(messages, options)
        if budget:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            if not options.max_tokens:
                body["max_tokens"] = budget + DEFAULT_MAX_TOKENS
            # Thinking refuses any temperature but the default (1): none is sent.
        elif options.temperature is not None:
            body["temperature"] = min(options.temperature, 1.0)  # the API's range is 0 to 1
        return body

    def list_models(self) -> list[ModelInfo]:
        models, params = [], {"limit": 1000}
        while True:
            page = self.http.get_json(f"{self._base()}/v1/models", headers=self._headers(),
                                      params=params)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise errors.malformed(self.label, detail="the model list has no \"data\" array")
            models += [ModelInfo(
                api_id=item["id"],
                display_name=item.get("display_name") or item["id"],
                # Every Claude model of the list takes tools and images.
                capabilities=frozenset({"tools", "vision"}),
            ) for item in page["data"] if isinstance(item, dict) and item.get("id")]
            if not page.get("has_more") or not page.get("last_id"):
                return models
            params = {"limit": 1000, "after_id": page["last_id"]}
