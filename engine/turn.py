"""The assistant message of one model call, and how a stored message reads back as text.

``Turn.data()`` is the one writer of an answer's ``body_json``.
"""

import dataclasses
import itertools
import time

from lxml import html as lxml_html

from odoo.tools import html2plaintext

# body_json finish reason of an answer whose process died before its final write.
FINISH_INTERRUPTED = "interrupted"


class Turn:
    """One model call: the assistant message being streamed, or the stored answer it
    continues (``message_id``, ``text`` and ``data`` of that answer)."""

    def __init__(self, message_id=None, text="", data=None):
        self.message_id = message_id
        # A continued answer's stored data: its usage is added to this call's.
        self.previous = data or {}
        self.text = [text] if text else []
        self.reasoning = [self.previous["reasoning"]] if self.previous.get("reasoning") else []
        # Parts stored before this call (not counted in its estimated output).
        self.kept = (len(self.text), len(self.reasoning))
        self.reasoning_started = None
        self.reasoning_seconds = None
        self.pending_text = []
        self.pending_reasoning = []
        self.calls = []
        # Per call, the length of the text written before it: the chat shows each call where
        # it came in the answer.
        self.call_offsets = []
        self.usage = None
        # (input, output) the provider counted before its stream failed; None where it did not.
        self.failed_counts = (None, None)
        self.estimated = False  # usage estimated: the provider sent no counts, or not all
        self.prompt_tokens = 0  # estimated, for the budget check and when usage is missing
        self.sent = False  # the request went to the provider (it bills its prompt then)
        self.billing = None  # {cost, currency, model}, once the usage line is written
        # The budgets' warning once that line counts (None: no line): the one the call's
        # start told was computed before it.
        self.budget_warning = None
        self.finish_reason = None
        self.stopped = False  # stopped by the user (or a takeover), once finalised
        self.error = None  # (code, user message)
        self.error_detail = ""  # the provider's own words, shown folded under the message
        self.dirty = False
        self.flushed_at = time.monotonic()
        self.final = False
        # Whether clients were told of the message (message_created): a continued answer's
        # is (the run says so at its start), a new one's with its first content.
        self.announced = False

    def add_call(self, call):
        """Record ``call`` under an id unique in this answer, and return it: a provider
        repeating an id would otherwise give two calls one approval and one result."""
        taken = {known.id for known in self.calls}
        if call.id in taken:
            call = dataclasses.replace(call, id=next(
                f"{call.id}_{n}" for n in itertools.count(2) if f"{call.id}_{n}" not in taken))
        self.calls.append(call)
        return call

    def end_reasoning(self):
        """The model moved on from reasoning (to text, a tool call or the end): keep how long it
        thought, so the chat shows "Thought for N s" after a reload too."""
        if self.reasoning_started is not None and self.reasoning_seconds is None:
            self.reasoning_seconds = max(1, round(time.monotonic() - self.reasoning_started))

    @property
    def reason(self):
        return self.finish_reason or ("error" if self.error else "stop")

    def data(self, stopped, partial=False):
        """The message's ``body_json``. ``partial``: a save on the way (the first token, the
        flushes), marked interrupted, which it is if the process dies before the final write
        replaces it (kill -9, a crash, a restart)."""
        data = {"finish_reason": FINISH_INTERRUPTED if partial else self.reason}
        if partial:
            data["interrupted"] = True
        if self.calls:
            data["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments,
                                   "offset": offset}
                                  for c, offset in zip(self.calls, self.call_offsets)]
        if self.reasoning:
            data["reasoning"] = "".join(self.reasoning)
        if self.reasoning_seconds is not None:
            data["reasoning_seconds"] = self.reasoning_seconds
        if self.usage:
            data["usage"] = {"input_tokens": self.usage.input_tokens,
                             "output_tokens": self.usage.output_tokens}
            if self.estimated:
                data["usage"]["estimated"] = True
            if self.billing:
                data["usage"].update(self.billing)
            before = self.previous.get("usage")
            if before:
                usage = data["usage"]
                for key in ("input_tokens", "output_tokens", "cost"):
                    if key in usage:
                        usage[key] += before.get(key) or 0
                usage["estimated"] = bool(usage.get("estimated") or before.get("estimated"))
        elif self.previous.get("usage"):
            # A continuation that cost nothing (yet): the answer's usage so far.
            data["usage"] = self.previous["usage"]
        if stopped:
            data["stopped"] = True
        if self.error:
            data["error"] = {"code": self.error[0], "message": self.error[1]}
            if self.error_detail:
                data["error"]["detail"] = self.error_detail
        return data


def message_text(message):
    """The text of a stored thread message.

    Messages written in the chat store their raw text escaped in ``body`` (one paragraph once
    sanitized), which reads back exactly with ``text_content()``: indentation and blank
    lines included, which pasted code and lists need. A question may also be any HTML
    posted from a chatter: that one is read as text the way mail reads HTML.
    """
    if not message.body:
        return ""
    if message.llm_role in ("assistant", "tool"):
        # An answer posted with message_post() keeps its markdown beside the HTML body.
        markdown = (message.body_json or {}).get("markdown")
        return markdown if markdown is not None else \
            lxml_html.fromstring(message.body).text_content()
    root = lxml_html.fromstring(message.body)
    if root.tag == "p" and not len(root):
        return root.text_content()
    return html2plaintext(message.body)
