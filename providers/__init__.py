"""Provider layer of llm_thread: one interface (:mod:`.base`) over the OpenAI, Anthropic and
Ollama wire formats. Pure Python (only ``requests``); Odoo models wrap it."""

from .base import (Attachment, CancelToken, ChatEvent, ChatMessage, ChatOptions, Embeddings,
                   Finish, ModelInfo, Provider, ProviderConfig, ProviderError, ReasoningDelta,
                   Retrying, RetryPolicy, TextDelta, ToolCall, ToolCallEvent, ToolSpec, Usage,
                   known_capabilities)
from .registry import get_provider

__all__ = [
    "Attachment", "CancelToken", "ChatEvent", "ChatMessage", "ChatOptions", "Embeddings",
    "Finish", "ModelInfo", "Provider", "ProviderConfig", "ProviderError", "ReasoningDelta",
    "Retrying", "RetryPolicy", "TextDelta", "ToolCall", "ToolCallEvent", "ToolSpec", "Usage",
    "get_provider", "known_capabilities",
]
