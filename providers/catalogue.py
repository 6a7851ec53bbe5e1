"""List prices and limits of the OpenAI and Anthropic models, for the model lists that do not
give them (neither provider's ``/v1/models`` has prices; OpenAI's has no limits either).

The figures are the providers' public list prices in USD per million tokens (standard tier,
no batch or cache discount; Claude Sonnet 4.5's for prompts up to 200,000 tokens) and the
documented context window and most output tokens, as published on
https://openai.com/api/pricing, https://platform.openai.com/docs/models,
https://www.anthropic.com/pricing#api and https://docs.anthropic.com/en/docs/about-claude/models
in November 2025. Providers change them: they only fill what a manager left empty, and an LLM
manager checks them in LLM > Configuration > Models. Ollama's models run on the company's own
machine: no list price, 0 is right for them.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ListFigures:
    input_price: float  # USD per million input tokens
    output_price: float  # USD per million output tokens
    context_window: int
    max_output_tokens: int


_GPT_41 = 1_047_576, 32_768
_O_SERIES = 200_000, 100_000
_GPT_5 = 400_000, 128_000
_CLAUDE = 200_000

# By API id without its date; an id's own entry (a dated snapshot priced apart) comes first.
_FIGURES = {
    # OpenAI
    "gpt-4o": ListFigures(2.50, 10.00, 128_000, 16_384),
    "gpt-4o-2024-05-13": ListFigures(5.00, 15.00, 128_000, 4_096),
    "gpt-4o-mini": ListFigures(0.15, 0.60, 128_000, 16_384),
    "gpt-4.1": ListFigures(2.00, 8.00, *_GPT_41),
    "gpt-4.1-mini": ListFigures(0.40, 1.60, *_GPT_41),
    "gpt-4.1-nano": ListFigures(0.10, 0.40, *_GPT_41),
    "o1": ListFigures(15.00, 60.00, *_O_SERIES),
    "o3": ListFigures(2.00, 8.00, *_O_SERIES),
    "o3-mini": ListFigures(1.10, 4.40, *_O_SERIES),
    "o4-mini": ListFigures(1.10, 4.40, *_O_SERIES),
    "gpt-5": ListFigures(1.25, 10.00, *_GPT_5),
    "gpt-5-mini": ListFigures(0.25, 2.00, *_GPT_5),
    "gpt-5-nano": ListFigures(0.05, 0.40, *_GPT_5),
    "gpt-5-chat-latest": ListFigures(1.25, 10.00, 128_000, 16_384),
    "gpt-5.1": ListFigures(1.25, 10.00, *_GPT_5),
    # Embedding models: the input alone is billed, and nothing is written.
    "text-embedding-3-small": ListFigures(0.02, 0.0, 8_191, 0),
    "text-embedding-3-large": ListFigures(0.13, 0.0, 8_191, 0),
    "text-embedding-ada-002": ListFigures(0.10, 0.0, 8_191, 0),
    # Anthropic ("-0" and "-latest" are aliases of the newest snapshot)
    "claude-3-haiku": ListFigures(0.25, 1.25, _CLAUDE, 4_096),
    "claude-3-opus": ListFigures(15.00, 75.00, _CLAUDE, 4_096),
    "claude-3-5-haiku": ListFigures(0.80, 4.00, _CLAUDE, 8_192),
    "claude-3-5-sonnet": ListFigures(3.00, 15.00, _CLAUDE, 8_192),
    "claude-3-7-sonnet": ListFigures(3.00, 15.00, _CLAUDE, 64_000),
    "claude-sonnet-4": ListFigures(3.00, 15.00, _CLAUDE, 64_000),
    "claude-sonnet-4-0": ListFigures(3.00, 15.00, _CLAUDE, 64_000),
    "claude-sonnet-4-5": ListFigures(3.00, 15.00, _CLAUDE, 64_000),
    "claude-opus-4": ListFigures(15.00, 75.00, _CLAUDE, 32_000),
    "claude-opus-4-0": ListFigures(15.00, 75.00, _CLAUDE, 32_000),
    "claude-opus-4-1": ListFigures(15.00, 75.00, _CLAUDE, 32_000),
    "claude-opus-4-5": ListFigures(5.00, 25.00, _CLAUDE, 64_000),
    "claude-haiku-4-5": ListFigures(1.00, 5.00, _CLAUDE, 64_000),
}

# A snapshot's date (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929) or the "latest" alias
# (claude-3-5-sonnet-latest). Only these: gpt-4o-audio-preview or a future claude-opus-4-6 is
# another model, with another price.
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def list_figures(api_id: str) -> ListFigures | None:
    """The list prices (USD) and limits of the OpenAI or Anthropic model ``api_id``, dated
    snapshots and aliases included, or None for a model this table does not know."""
    api_id = (api_id or "").strip().lower()
    return _FIGURES.get(api_id) or _FIGURES.get(_SNAPSHOT.sub("", api_id))
