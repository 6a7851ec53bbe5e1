"""OpenAI Chat Completions (``POST {base_url}/chat/completions``), streamed as SSE.

Serves OpenAI (base URL ``https://api.openai.com/v1``), Azure OpenAI (resource URL plus
``azure_api_version``: deployment URL, ``api-version`` query, ``api-key`` header) and every
OpenAI-compatible server (Groq, Mistral, DeepSeek, OpenRouter, vLLM, LM Studio, Ollama's
``/v1``). The base URL includes the version path, as in the OpenAI SDKs' ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Iterator
from urllib.parse import quote, urlsplit

from . import errors
from .base import (ChatEvent, ChatMessage, ChatOptions, Embeddings, ModelInfo, ToolSpec,
                   attachment_text, known_capabilities)
from .http import HttpProvider
from .streams import AnswerBuilder, iter_sse, loads_object, parser

FINISH_REASONS = {"function_call": "tool_calls"}  # the others are already ours
# Model lists of OpenAI and Azure also hold image, audio and moderation models: not chat.
_NOT_CHAT = re.compile(r"dall-e|whisper|tts|moderation|gpt-image|transcribe|realtime|"
                       r"audio|sora|davinci|babbage|"
                       # OpenAI's own ids (no vendor prefix: OpenRouter serves its "openai/..."
                       # on Chat Completions) of models only the Responses API or the legacy
                       # Completions API takes, or that refuse tools and sampling parameters
                       # (web search): not chat models for this module.
                       r"^(?:codex-|gpt-[\d.]+-codex|computer-use|o\d+-pro|gpt-[\d.]+-pro|"
                       r"o\d+(?:-mini)?-deep-research|gpt-3\.5-turbo-instruct|gpt-[\w.-]*search)",
                       re.IGNORECASE)


def to_openai_messages(messages: Iterable[ChatMessage]) -> list[dict[str, Any]]:
    """Stored messages as Chat Completions messages: system prompts stay ``system`` messages,
    tool calls are JSON-encoded in the assistant message, each result is a ``tool`` message;
    a message with attachments has a list of content parts (see :func:`user_content`)."""
    result = []
    for message in messages:
        if message.role == "assistant" and message.tool_calls:
            result.append({
                "role": "assistant",
                # null, not "", when the turn only calls tools: some compatible servers
                # reject an empty text part.
                "content": message.content or None,
                "tool_calls": [{
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                } for call in message.tool_calls],
            })
        elif message.role == "tool":
            result.append({"role": "tool", "tool_call_id": message.tool_call_id,
                           "content": message.content})
        elif message.attachments:
            result.append({"role": message.role, "content": user_content(message)})
        else:
            result.append({"role": message.role, "content": message.content})
    return result


def user_content(message: ChatMessage) -> list[dict[str, Any]]:
    """Content parts of a message with attachments: its text, each file's text as a text
    part, each image as an ``image_url`` part holding a base64 data URL (as OpenAI documents
    for images sent inline, and every compatible server with vision takes)."""
    parts = [{"type": "text", "text": message.content}] if message.content else []
    for attachment in message.attachments:
        if attachment.is_image:
            parts.append({"type": "image_url", "image_url": {
                "url": f"data:{attachment.mimetype};base64,{attachment.data}"}})
        else:
            parts.append({"type": "text", "text": attachment_text(attachment)})
    return parts


def to_openai_tools(tools: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {
        "name": tool.name, "description": tool.description, "parameters": tool.parameters,
    }} for tool in tools]


@parser
def parse_stream(chunks: Iterable[bytes], answer: AnswerBuilder) -> Iterator[ChatEvent]:
    """Events of a streamed Chat Completions answer.

    Text comes in ``delta.content``, a refusal in ``delta.refusal`` (shown as the answer, which
    finishes with "refusal"), reasoning in ``delta.reasoning_content`` (DeepSeek, vLLM) or
    ``delta.reasoning`` (OpenRouter, Ollama); a tool call comes in fragments of
    ``delta.tool_calls`` keyed by ``index`` (id and name first, then pieces of the arguments
    text) and is complete when ``finish_reason`` arrives. With ``include_usage`` a last chunk
    with empty ``choices`` carries ``usage``; ``data: [DONE]`` ends the stream.
    """
    label = answer.label
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    done = False
    for event in iter_sse(chunks):
        if event.data == "[DONE]":
            done = True
            break
        chunk = loads_object(event.data, label)
        usage = chunk.get("usage")
        if usage:
            answer.set_usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
        if chunk.get("error"):
            # OpenRouter and vLLM report a failure met after the 200 status this way
            # (OpenRouter with the usage so far in the same chunk, read above).
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise errors.stream_error(label, detail=errors.short(str(message)))
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0):
                continue  # we never ask for n > 1
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                yield answer.reasoning(reasoning)
            if delta.get("content"):
                yield answer.text(delta["content"])
            if delta.get("refusal"):
                yield answer.refusal(delta["refusal"])
            for fragment in delta.get("tool_calls") or ():
                call = calls.setdefault(fragment.get("index", len(calls)),
                                        {"id": "", "name": "", "arguments": []})
                function = fragment.get("function") or {}
                call["id"] = fragment.get("id") or call["id"]
                call["name"] = function.get("name") or call["name"]
                call["arguments"].append(function.get("arguments") or "")
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
                yield from _complete_calls(answer, calls, label)
    if not done and finish is None:
        raise errors.stream_cut(label, detail="no finish_reason and no [DONE]")
    yield from _complete_calls(answer, calls, label)
    yield from answer.finish(FINISH_REASONS.get(finish, finish or "stop"))


def _complete_calls(answer: AnswerBuilder, calls: dict[int, dict[str, Any]],
                    label: str) -> Iterator[ChatEvent]:
    for index in sorted(calls):
        call = calls[index]
        if not call["name"]:
            raise errors.malformed(label, detail=f"tool call {index} has no function name")
        yield answer.tool_call(call["id"] or f"call_{index}", call["name"],
                               "".join(call["arguments"]))
    calls.clear()


class OpenAIProvider(HttpProvider):
    """Chat Completions client for OpenAI, Azure OpenAI and OpenAI-compatible servers."""

    parser = staticmethod(parse_stream)

    @property
    def azure(self) -> bool:
        return bool(self.config.azure_api_version)

    @property
    def official(self) -> bool:
        return urlsplit(self.config.base_url).hostname == "api.openai.com"

    @property
    def brand(self) -> str:
        if self.azure:
            return "Azure OpenAI"
        return "OpenAI" if self.official else "OpenAI-compatible server"

    def _base(self) -> str:
        base = super()._base()
        # Azure's resource URL is wanted; accept it with the "/openai" path pasted too.
        return base.removesuffix("/openai") if self.azure else base

    def _headers(self) -> dict[str, str]:
        headers = {}
        if self.config.api_key:
            if self.azure:
                headers["api-key"] = self.config.api_key
            else:
                headers["Authorization"] = f"Bearer {self.config.api_key}"
        return {**headers, **self.config.extra_headers}

    def _params(self) -> dict[str, str] | None:
        return {"api-version": self.config.azure_api_version} if self.azure else None

    def _chat_url(self, model: str) -> str:
        if self.azure:
            return f"{self._base()}/openai/deployments/{quote(model, safe='')}/chat/completions"
        return f"{self._base()}/chat/completions"

    def request_body(self, model: str, messages: list[ChatMessage], tools: list[ToolSpec],
                     options: ChatOptions) -> dict[str, Any]:
        body = {
            "model": model,
            "messages": to_openai_messages(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = to_openai_tools(tools)
        if options.reasoning_model:
            # OpenAI's reasoning models (o-series, gpt-5) refuse any temperature but the
            # default; compatible servers ignore it for theirs.
            if options.reasoning_effort:
                body["reasoning_effort"] = options.reasoning_effort
        elif options.temperature is not None:
            body["temperature"] = options.temperature
        if options.max_tokens:
            body[self.max_tokens_param] = options.max_tokens
        return body

    @property
    def max_tokens_param(self) -> str:
        """OpenAI's reasoning models refuse the deprecated "max_tokens", while many compatible
        servers only know it: the provider's setting, else the new name for OpenAI and Azure
        only."""
        if self.config.max_tokens_param:
            return self.config.max_tokens_param
        return "max_completion_tokens" if self.official or self.azure else "max_tokens"

    supports_embeddings = True

    def _embed_batch(self, model: str, texts: list[str], dimensions: int | None) -> Embeddings:
        if self.azure:
            url = f"{self._base()}/openai/deployments/{quote(model, safe='')}/embeddings"
        else:
            url = f"{self._base()}/embeddings"
        body = {"model": model, "input": texts, "encoding_format": "float"}
        if dimensions:
            body["dimensions"] = dimensions  # text-embedding-3 models and some compatibles
        return parse_embeddings(self.http.post_json(url, headers=self._headers(), body=body,
                                                    params=self._params(), model=model),
                                self.label)

    def list_models(self) -> list[ModelInfo]:
        if self.azure:
            # Azure lists the models the resource can deploy; chat calls take a deployment
            # name, which is the model's name unless renamed when deploying.
            data = self.http.get_json(f"{self._base()}/openai/models", headers=self._headers(),
                                      params=self._params())
        else:
            data = self.http.get_json(f"{self._base()}/models", headers=self._headers())
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise errors.malformed(self.label, detail="the model list has no \"data\" array")
        models = {}
        for item in items:
            info = _model_info(item)
            if info and info.api_id not in models:
                models[info.api_id] = info
        return sorted(models.values(), key=lambda info: info.api_id)


def _model_info(item: Any) -> ModelInfo | None:
    """One entry of ``/models``: OpenAI gives only ids; OpenRouter adds ``context_length``
    and ``supported_parameters``, vLLM ``max_model_len``, Azure ``capabilities``."""
    if not isinstance(item, dict) or not item.get("id") or _NOT_CHAT.search(item["id"]):
        return None
    api_id = item["id"]
    azure_caps = item.get("capabilities") if isinstance(item.get("capabilities"), dict) else {}
    if azure_caps and not (azure_caps.get("chat_completion") or azure_caps.get("embeddings")):
        return None
    embedding = azure_caps.get("embeddings") or "embed" in api_id.lower()
    supported = item.get("supported_parameters") or ()
    modalities = (item.get("architecture") or {}).get("input_modalities") or ()
    # OpenRouter lists parameters and input modalities; OpenAI's list only ids: known names
    # then.
    known = known_capabilities(api_id)
    capabilities = {cap for cap, present in (
        ("tools", "tools" in supported if supported else "tools" in known),
        ("reasoning", "reasoning" in supported),
        ("vision", "image" in modalities if modalities else "vision" in known),
    ) if present}
    top = item.get("top_provider") or {}
    return ModelInfo(
        api_id=api_id,
        display_name=item.get("name") or api_id,
        context_window=item.get("context_length") or item.get("max_model_len") or None,
        max_output_tokens=top.get("max_completion_tokens") or None,
        capabilities=frozenset(capabilities),
        use="embedding" if embedding else "chat",
    )


def parse_embeddings(document: Any, label: str) -> Embeddings:
    """``/embeddings`` answer: ``data`` holds ``{"index", "embedding"}`` objects (put back in
    input order by ``index``), ``usage.prompt_tokens`` counts the input."""
    items = document.get("data") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise errors.malformed(label, detail="the embeddings answer has no \"data\" array")
    ordered = sorted(items, key=lambda item: item.get("index", 0) if isinstance(item, dict) else 0)
    vectors = [embedding_vector(item.get("embedding") if isinstance(item, dict) else None, label)
               for item in ordered]
    usage = document.get("usage") or {}
    return Embeddings(vectors, int(usage.get("prompt_tokens") or 0))


def embedding_vector(value: Any, label: str) -> list[float]:
    if not isinstance(value, list) or not value or not all(
            isinstance(number, (int, float)) for number in value):
        raise errors.malformed(label, detail="an embedding is not a list of numbers")
    return value
