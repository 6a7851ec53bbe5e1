"""Token estimates, where a provider gives no counts: the context builder's budget, and usage
lines of calls the provider did not count (see ``llm.usage``)."""

import json

from ..providers.base import Usage, attachment_text

# An image's input tokens, whatever its size: the most any format bills for one image as it
# resizes them (Anthropic: width x height / 750 after fitting ~1.15 megapixels, so about
# 1,600; OpenAI's high detail: at most 1,105).
IMAGE_TOKENS = 1600


def estimate_tokens(text):
    # About four characters per token for English and code with the common BPE vocabularies;
    # the margin left by the answer reserve (llm.thread) absorbs the error.
    return len(text) // 4 + 4


def message_tokens(message):
    """Estimated tokens of a ``ChatMessage``: its text, its tool calls and its attachments
    (a file by its text, also where a format reads a PDF itself)."""
    tokens = estimate_tokens(message.content)
    for call in message.tool_calls:
        tokens += estimate_tokens(call.name + json.dumps(call.arguments))
    for attachment in message.attachments:
        tokens += IMAGE_TOKENS if attachment.is_image else estimate_tokens(
            attachment_text(attachment))
    return tokens


def estimate_prompt_tokens(messages, tools):
    """Estimated input tokens of one provider call: its messages and its tool definitions."""
    tokens = sum(message_tokens(message) for message in messages)
    if tools:
        tokens += estimate_tokens(json.dumps(
            [[tool.name, tool.description, tool.parameters] for tool in tools]))
    return tokens


def estimate_output_tokens(text, reasoning, calls):
    """Estimated output tokens of an answer: its text, reasoning and tool calls."""
    output = "".join(text) + "".join(reasoning)
    output += "".join(call.name + json.dumps(call.arguments) for call in calls)
    return estimate_tokens(output)


def call_usage(usage, failed_counts, prompt_tokens, text, reasoning, calls=()):
    """``(usage, estimated)``: what the usage line of one provider call counts (usage None:
    no line). The provider's counts when it sent any; else, for a call that was made
    (stopped, cut, failed, a server ignoring include_usage or sending zeros) and got
    something (output, or counts from a failure: ``failed_counts``, input and output, None
    where the provider gave none), what the provider counted before failing and estimates
    for the rest (``prompt_tokens``, the output from ``text``, ``reasoning`` and ``calls``),
    flagged estimated; nothing for a call that failed before any of it (a refused request
    is not billed)."""
    known_input, known_output = failed_counts
    if (usage and (usage.input_tokens or usage.output_tokens)) or not (
            text or reasoning or calls or known_input is not None or known_output is not None):
        return usage, False
    return Usage(prompt_tokens if known_input is None else known_input,
                 estimate_output_tokens(text, reasoning, calls)
                 if known_output is None else known_output), \
        known_input is None or known_output is None


def carries_history(messages):
    """Whether a prompt (provider messages) sends earlier messages along with its last one,
    the system prompt aside: a budget's refusal then says a new conversation sends less."""
    return sum(message.role != "system" for message in messages) > 1
