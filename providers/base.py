"""The one provider interface every part of llm_thread calls.

Pure Python (only ``requests``), no Odoo import: the chat engine, the tests and later
modules (live chat agent, knowledge base, budgets) depend on this module alone, and each wire
format lives in its own module beside it (``openai.py``, ``anthropic.py``, ``ollama.py``).

Messages go in normalised (see :class:`ChatMessage`), events come out normalised (see
:data:`ChatEvent`); each wire module translates both ways with its own role rules.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Union

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call, arguments already parsed from the provider's JSON."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Attachment:
    """A file sent with a user message.

    An image (``mimetype`` image/png, jpeg, gif or webp) has ``data``, the base64 of its bytes,
    and goes as the format's image part. Any other file has ``text``, what Odoo's text
    extraction read from it, and goes as text; a PDF also has ``data``, for the formats that
    read PDFs themselves (Anthropic's ``document`` block).
    """

    name: str
    mimetype: str
    data: str = ""
    text: str = ""

    @property
    def is_image(self) -> bool:
        return self.mimetype.startswith("image/")


def attachment_text(attachment: Attachment) -> str:
    """A file's text as the formats without a document input get it: named, so the model
    can tell the files of a message apart and refer to them."""
    return f"[File: {attachment.name}]\n{attachment.text}"


@dataclass(frozen=True)
class ChatMessage:
    """One stored thread message in provider-neutral form.

    - ``assistant`` messages may carry ``tool_calls`` (and empty ``content``);
    - ``tool`` messages answer one call: ``tool_call_id`` and ``name`` are set, ``content`` is
      the result serialised as text (JSON for structured results), ``is_error`` marks failures;
    - ``user`` messages may carry ``attachments`` (images, files).
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ChatOptions:
    """Generation settings; each wire module maps them to its format's parameters.

    ``None`` leaves a setting to the provider's default. ``max_tokens`` bounds every output
    token of the answer, reasoning included, as every format bills them: it is the tighter of
    the assistant's limit and what a hard budget has left. Reasoning settings only reach a
    ``reasoning_model`` (llm.model *Reasoning*): other models would refuse them.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    # "low" / "medium" / "high".
    reasoning_effort: str | None = None
    # Tokens the model may think (Anthropic's ``thinking.budget_tokens``); None: from the effort.
    thinking_budget: int | None = None
    reasoning_model: bool = False


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCallEvent:
    """Emitted once per call, when its arguments are complete and parsed."""

    call: ToolCall


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Finish:
    """Last event of a successful stream. ``reason``: stop, length (cut by the token limit),
    tool_calls, content_filter, refusal (the text is the model's refusal)."""

    reason: str


@dataclass(frozen=True)
class Retrying:
    """The request failed with ``kind`` (rate_limit, server) and is sent again after
    ``seconds``; only before the answer's first other event, so a caller can say why nothing
    arrives yet."""

    seconds: float
    kind: str


ChatEvent = Union[TextDelta, ReasoningDelta, ToolCallEvent, Usage, Finish, Retrying]


@dataclass(frozen=True)
class ModelInfo:
    """One entry of a provider's model list (``list_models``)."""

    api_id: str
    display_name: str = ""
    context_window: int | None = None
    max_output_tokens: int | None = None
    # Subset of {"tools", "vision", "reasoning"}, only what the provider's list says.
    capabilities: frozenset[str] = field(default_factory=frozenset)
    use: Literal["chat", "embedding"] = "chat"


# Model families known to read images, for the lists that do not say (OpenAI's and Ollama's
# give only names): GPT-4o / 4.1 / 4.5 / 5 and the o1 / o3 / o4 reasoning models, Claude,
# Gemini and Gemma 3, Llama 3.2 Vision and Llama 4, LLaVA and its kin, Qwen-VL, Pixtral, Mistral
# Small 3.1+, MiniCPM-V, Moondream, Granite Vision. An admin corrects a model on its form.
_VISION_NAMES = re.compile(
    r"gpt-4o|gpt-4\.1|gpt-4\.5|gpt-4-turbo|gpt-5|(?<![a-z0-9])o[134](?![0-9])(?!-mini|-preview)|"
    r"o4-mini|claude|gemini|gemma3|vision|llama4|llava|qwen[0-9.]*-?vl|pixtral|"
    r"mistral-small3\.[1-9]|mistral-small-2503|minicpm-v|moondream", re.IGNORECASE)


# Model families known to call tools, for the same lists: GPT-3.5 Turbo, GPT-4 and later,
# gpt-oss, the o1 / o3 / o4 reasoning models (not o1-mini nor o1-preview), Claude, Gemini,
# Mistral's (Mistral, Mixtral, Ministral, Magistral, Devstral, Pixtral, Codestral), Llama
# 3.1 / 3.2 / 3.3 and 4, Qwen 2 and 3, QwQ, Command R, Hermes 3, Granite 3, Phi-4 mini,
# DeepSeek V3, GLM-4, Nemotron, Cogito, SmolLM2 and FireFunction (Ollama's "tools" models).
_TOOLS_NAMES = re.compile(
    r"gpt-3\.5-turbo|gpt-4|gpt-5|gpt-oss|(?<![a-z0-9])o[134](?![0-9])(?!-mini|-preview)|"
    r"o3-mini|o4-mini|claude|gemini|mistral|mixtral|ministral|magistral|devstral|pixtral|"
    r"codestral|llama-?3\.[123]|llama-?4|qwen-?[23]|qwq|command-r|hermes-?3|granite-?3|"
    r"phi-?4-mini|deepseek-(?:chat|v3)|glm-?4|nemotron|cogito|smollm2|firefunction",
    re.IGNORECASE)


def known_capabilities(api_id: str) -> frozenset[str]:
    """What a model's name tells of it when its provider's list does not: "tools" and
    "vision" for the families known to have them. An LLM manager corrects a model on its
    form."""
    return frozenset(cap for cap, names in (("tools", _TOOLS_NAMES), ("vision", _VISION_NAMES))
                     if names.search(api_id))


@dataclass(frozen=True)
class Embeddings:
    """The answer of :meth:`Provider.embed`: one vector per input text, in input order."""

    vectors: list[list[float]]
    input_tokens: int = 0


ErrorKind = Literal[
    "connection",  # refused, unknown host
    "timeout",  # connect or read timeout, stalled stream
    "auth",  # 401 / 403
    "not_found",  # 404: unknown model or wrong base URL
    "bad_request",  # 400: invalid request, context too long (provider's own message kept)
    "rate_limit",  # 429 after the bounded retries
    "server",  # 5xx after the bounded retries
    "protocol",  # malformed stream, cut stream, bad tool-call JSON, empty answer
    "cancelled",
]


class ProviderError(Exception):
    """A provider failure, with a message a user can act on (never a traceback).

    ``message`` is one sentence naming the provider and saying what to do; ``detail`` keeps the
    provider's own words (e.g. its 400 error text) apart, for the log and for the stored error,
    which the chat shows folded under the sentence.

    ``template`` and ``params`` are what ``message`` was rendered from (``template % params``):
    the Odoo layer translates the template into the user's language (see
    ``llm.provider._error_message``). ``ask_template``, set on configuration problems, is the
    sentence for users who cannot change the configuration: it takes a ``managers`` parameter
    naming who can.

    ``input_tokens`` and ``output_tokens`` are the counts the provider sent before a stream
    failed (``None`` where it sent none), so that what was billed is recorded. ``retryable`` and ``retry_after`` drive the bounded retry
    of 429 / 5xx answers; a caller only sees them on the error raised after the last retry.
    """

    def __init__(self, provider_name: str, kind: ErrorKind, message: str, detail: str = "",
                 status: int | None = None, *, template: str = "",
                 params: dict[str, Any] | None = None, retryable: bool = False,
                 retry_after: float | None = None, ask_template: str = ""):
        super().__init__(message)
        self.provider_name = provider_name
        self.kind = kind
        self.message = message
        self.detail = detail
        self.status = status
        self.template = template or message
        self.params = params or {}
        self.retryable = retryable
        self.retry_after = retry_after
        self.ask_template = ask_template
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None


class CancelToken:
    """Shared between the caller and a running stream: ``cancel()`` from any thread makes the
    stream stop and closes its upstream connection at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._on_cancel: list[Any] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, returning early (``True``) when cancelled."""
        return self._event.wait(seconds)

    def on_cancel(self, callback) -> None:
        """Run ``callback`` when cancelled (at once if it already is)."""
        with self._lock:
            if not self._event.is_set():
                self._on_cancel.append(callback)
                return
        callback()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            callback()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retry of rate-limited (429) and failed (5xx) requests, before the first event.

    The delay doubles from ``initial_delay`` up to ``max_delay``; a ``Retry-After`` answer header
    replaces it. The sum of the delays never exceeds ``max_total_wait``: when the next one would,
    the last error is raised at once. ``sleep`` and ``clock`` are injectable so tests never
    really wait; ``sleep=None`` waits on the request's :class:`CancelToken` so a cancel
    interrupts the back-off.
    """

    max_retries: int = 4
    initial_delay: float = 1.0
    max_delay: float = 16.0
    max_total_wait: float = 45.0
    sleep: Callable[[float], None] | None = None
    # Epoch seconds, to turn an HTTP-date ``Retry-After`` into a delay.
    clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class ProviderConfig:
    """What a wire module needs to talk to one configured provider."""

    name: str
    api_format: Literal["openai", "anthropic", "ollama"]
    base_url: str
    api_key: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)
    # Azure OpenAI: deployment-style URL with ?api-version=... and the ``api-key`` header.
    azure_api_version: str = ""
    # OpenAI format: the name of the answer-length parameter, "max_completion_tokens" or
    # "max_tokens"; empty: the new name for OpenAI and Azure, the classic one elsewhere.
    max_tokens_param: str = ""
    # Seconds: the read timeout (a stream silent that long fails), and the connect timeout
    # up to 10 s.
    timeout: float = 60.0
    retry: RetryPolicy = RetryPolicy()


class Provider:
    """Base of the wire modules. Subclasses implement ``chat`` and ``list_models``."""

    #: Brand used in user messages, e.g. "OpenAI (My key) rejected the API key".
    brand = ""

    def __init__(self, config: ProviderConfig):
        self.config = config

    @property
    def label(self) -> str:
        """How user messages name this provider: brand and configured name."""
        name = self.config.name
        if not name or self.brand.lower() in name.lower():
            return name or self.brand
        return f"{self.brand} ({name})"

    def chat(self, model: str, messages: list[ChatMessage], tools: list[ToolSpec] = (),
             options: ChatOptions = ChatOptions(), cancel: CancelToken | None = None,
             ) -> Iterator[ChatEvent]:
        """Stream one answer of ``model``.

        Lazy: the request is sent on the first ``next()``. Events come in stream order; a
        successful stream ends with at most one :class:`Usage` then exactly one
        :class:`Finish`; :class:`Retrying` events may come before anything else. Every failure,
        cancellation included, raises :class:`ProviderError` (possibly after some events were
        yielded: a cut or stalled stream). 429 / 5xx answers are retried per ``config.retry``
        only while no other event has been yielded.
        """
        raise NotImplementedError

    def list_models(self) -> list[ModelInfo]:
        """The provider's model list; raises :class:`ProviderError`."""
        raise NotImplementedError

    def supports_prefill(self, model: str, messages: list[ChatMessage],
                         options: ChatOptions) -> bool:
        """Whether ``model``, sent ``messages`` with ``options``, goes on with the text of
        their last message, an assistant one (a prefill), instead of answering anew: the
        answer's text events then continue that text exactly. False unless the format
        documents it for that model and those options; a caller then asks in words."""
        return False

    #: Whether the API has an embeddings endpoint (Anthropic has none).
    supports_embeddings = False

    def embed(self, model: str, texts: list[str], dimensions: int | None = None) -> Embeddings:
        """Vectors of ``texts`` from the embedding ``model``; ``dimensions`` asks for shortened
        vectors where the API takes it. Raises :class:`ProviderError` (the provider's own
        faults, or no embeddings at all)."""
        raise NotImplementedError

