"""Ollama's native chat API (``POST {base_url}/api/chat``), streamed as NDJSON.

The base URL is the server's root, ``http://localhost:11434`` by default. (Ollama's
OpenAI-compatible ``/v1`` is served by :mod:`.openai`.)
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from . import errors
from .base import (ChatEvent, ChatMessage, ChatOptions, Embeddings, ModelInfo, ToolSpec,
                   attachment_text, known_capabilities)
from .http import HttpProvider
from .openai import embedding_vector, to_openai_tools
from .streams import AnswerBuilder, iter_ndjson, parser


def to_ollama_messages(messages: Iterable[ChatMessage]) -> list[dict[str, Any]]:
    """Stored messages as ``/api/chat`` messages: tool-call arguments stay JSON objects, a
    result is a ``tool`` message naming its tool (Ollama has no call ids to match). Images go
    in the message's ``images`` (base64, no data URL), files' texts after its text."""
    result = []
    for message in messages:
        files = [attachment_text(a) for a in message.attachments if not a.is_image]
        entry = {"role": message.role, "content": "\n\n".join(
            part for part in (message.content, *files) if part)}
        images = [a.data for a in message.attachments if a.is_image]
        if images:
            entry["images"] = images
        if message.tool_calls:
            entry["tool_calls"] = [{"function": {"name": call.name, "arguments": call.arguments}}
                                   for call in message.tool_calls]
        if message.role == "tool" and message.name:
            entry["tool_name"] = message.name
        result.append(entry)
    return result


@parser
def parse_stream(chunks: Iterable[bytes], answer: AnswerBuilder) -> Iterator[ChatEvent]:
    """Events of a streamed ``/api/chat`` answer: one JSON object a line, each with a piece
    of ``message`` (``content``, ``thinking``, complete ``tool_calls``); the last one has
    ``"done": true``, ``done_reason`` and the token counts ``prompt_eval_count`` (input) and
    ``eval_count`` (output); ``done_reason`` is "length" when ``num_predict`` cut the answer. A
    failure after the 200 status comes as ``{"error": "..."}``, without counts."""
    label = answer.label
    calls = 0
    for line in iter_ndjson(chunks, label):
        if line.get("error"):
            raise errors.stream_error(label, detail=errors.short(str(line["error"])))
        message = line.get("message") or {}
        if message.get("thinking"):
            yield answer.reasoning(message["thinking"])
        if message.get("content"):
            yield answer.text(message["content"])
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            if not function.get("name"):
                raise errors.malformed(label, detail="tool call without a function name")
            calls += 1
            yield answer.tool_call(call.get("id") or f"call_{calls}", function["name"],
                                   function.get("arguments"))
        if line.get("done"):
            answer.set_usage(line.get("prompt_eval_count"), line.get("eval_count"))
            yield from answer.finish(line.get("done_reason") or "stop")
            return
    raise errors.stream_cut(label, detail="no line with \"done\": true")


class OllamaProvider(HttpProvider):
    """Native Ollama client."""

    brand = "Ollama"
    parser = staticmethod(parse_stream)

    def _headers(self) -> dict[str, str]:
        # Ollama itself takes no key; one is useful behind an authenticating proxy.
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        return {**headers, **self.config.extra_headers}

    def _chat_url(self, model: str) -> str:
        return f"{self._base()}/api/chat"

    @staticmethod
    def request_body(model: str, messages: list[ChatMessage], tools: list[ToolSpec],
                     options: ChatOptions) -> dict[str, Any]:
        body = {"model": model, "messages": to_ollama_messages(messages), "stream": True}
        if tools:
            body["tools"] = to_openai_tools(tools)  # Ollama takes the same tool shape
        model_options = {}
        if options.temperature is not None:
            model_options["temperature"] = options.temperature
        if options.max_tokens:
            model_options["num_predict"] = options.max_tokens
        if model_options:
            body["options"] = model_options
        if options.reasoning_model and (options.reasoning_effort or options.thinking_budget):
            # A boolean works on every thinking model; effort levels only on some.
            body["think"] = True
        return body

    supports_embeddings = True

    def _embed_batch(self, model: str, texts: list[str], dimensions: int | None) -> Embeddings:
        body = {"model": model, "input": texts}
        if dimensions:
            body["dimensions"] = dimensions
        return parse_embeddings(self.http.post_json(f"{self._base()}/api/embed",
                                                    headers=self._headers(), body=body,
                                                    model=model), self.label)

    def list_models(self) -> list[ModelInfo]:
        data = self.http.get_json(f"{self._base()}/api/tags", headers=self._headers())
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise errors.malformed(self.label, detail="the model list has no \"models\" array")
        return [ModelInfo(
            api_id=item["name"],
            display_name=item["name"],
            use="embedding" if "embed" in item["name"].lower() else "chat",
            # The list gives no capabilities (/api/show does, one call a model): known names.
            capabilities=known_capabilities(item["name"]),
        ) for item in data["models"] if isinstance(item, dict) and item.get("name")]


def parse_embeddings(document: Any, label: str) -> Embeddings:
    """``/api/embed`` answer: ``embeddings`` is one vector a text, in input order;
    ``prompt_eval_count`` counts the input tokens."""
    vectors = document.get("embeddings") if isinstance(document, dict) else None
    if not isinstance(vectors, list):
        raise errors.malformed(label, detail="the embeddings answer has no \"embeddings\" array")
    return Embeddings([embedding_vector(vector, label) for vector in vectors],
                      int(document.get("prompt_eval_count") or 0))
