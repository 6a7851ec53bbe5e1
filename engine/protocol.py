"""The protocol of a generation, defined once for the Python side: its events, error codes,
the thread's states, the bus notification and the keys of stored messages' ``body_json``.

``llm.thread._llm_generate()`` yields ``(event, payload)`` pairs built with :func:`event`, and the
SSE route writes them with :func:`encode_sse`. The TypeScript side defines the same table in
``static/src/ts/stream/protocol.ts``; ``static/tests/vitest/stream/protocol.test.ts`` runs
this file (``python3 engine/protocol.py``) and fails when the two tables differ.

Every event is a delta: text arrives once, in order, never re-sent, so the bytes on the wire
grow with the answer's length, not with its square.

Pure Python on purpose (no Odoo import): the protocol test runs it without a database.
"""

import json

# Field types are the TypeScript names; a trailing "?" means the value may be null.
EVENTS = {
    # A stored message the client has not seen yet: the user's message at the start, then
    # each assistant or tool message when it is created.
    "message_created": {"message_id": "number", "role": "string"},
    "text_delta": {"message_id": "number", "text": "string"},
    "reasoning_delta": {"message_id": "number", "text": "string"},
    # ``message_id`` is the assistant message that asked for the call.
    "tool_call_started": {
        "message_id": "number", "call_id": "string", "name": "string", "arguments": "object",
    },
    # ``message_id`` is the tool message holding the result; exactly one of result / error.
    # ``records``: what the call was about, [{model, id, label, changed}], named for the user
    # (llm.tool._llm_touched_records); ``changed`` is true when the tool writes.
    "tool_call_finished": {
        "message_id": "number", "call_id": "string", "name": "string",
        "result": "string?", "error": "string?", "records": "array",
    },
    # A call that changes data waits for the owner's decision (``message_id``: the assistant
    # message that asked); ``preview`` is what it will do (llm.tool._llm_preview). The
    # generation then ends with the thread in the "approval" state.
    "approval_required": {
        "message_id": "number", "call_id": "string", "name": "string", "preview": "object",
    },
    # ``estimated``: the provider sent no counts; ``cost`` is in ``currency`` (ISO code), the
    # company's currency, from the model's prices; ``model``: the name of the model that
    # answered (the "Auto" model's choice), ``provider``: its provider's name.
    "usage": {
        "message_id": "number", "input_tokens": "number", "output_tokens": "number",
        "estimated": "boolean", "cost": "number", "currency": "string", "model": "string",
        "provider": "string",
    },
    # The provider asked to wait (HTTP 429) or failed (5xx) before the answer started: the
    # request is sent again after ``seconds``; ``code`` is the error kind (rate_limit, server).
    "retrying": {"seconds": "number", "code": "string"},
    # A monthly budget is at 80% or more (the call still goes ahead); before the first call.
    "budget_warning": {"message": "string"},
    # The knowledge passages given to the model for the question ``message_id`` (a user
    # message), before the first call: [{n, label, url, source, quote}], what the answer
    # cites as [n] (llm_knowledge_thread). Sent when the conversation has knowledge sources.
    "citations": {"message_id": "number", "citations": "array"},
    # The message is stored in its final form; ``error`` is the user-facing failure, if any.
    "message_final": {
        "message_id": "number", "finish_reason": "string", "stopped": "boolean",
        "error": "string?",
    },
    # ``message``: one sentence for the user; ``detail``: the provider's own words, if any
    # (shown folded under it); ``message_id``: the message the error is recorded on, if any.
    "error": {"code": "string", "message": "string", "detail": "string",
              "message_id": "number?"},
    # Sent while nothing else is (a tool runs, the provider is silent) so that proxies keep
    # the connection open and a vanished viewer is noticed.
    "heartbeat": {},
    # Always the last event. ``state`` is the thread's generation state afterwards.
    "done": {"thread_id": "number", "state": "string"},
}

# Error codes of the "error" event besides the provider's error kinds (see providers.base).
ERROR_ALREADY_GENERATING = "already_generating"
ERROR_ITERATION_LIMIT = "iteration_limit"
# A hard budget refused the call before any request was sent.
ERROR_BUDGET_EXCEEDED = "budget_exceeded"
ERROR_NOT_CONFIGURED = "not_configured"
ERROR_INTERNAL = "internal"
ERROR_CODES = (ERROR_ALREADY_GENERATING, ERROR_ITERATION_LIMIT, ERROR_BUDGET_EXCEEDED,
               ERROR_NOT_CONFIGURED, ERROR_INTERNAL)

# A thread's generation states (llm.thread.generation_state): "approval" is a run that ended
# with calls waiting for the owner's decision (llm_tool_approval).
GENERATION_STATES = ("idle", "generating", "waiting", "approval", "error")
# The states in which a run holds the thread's claim.
BUSY_STATES = ("generating", "waiting")
# Odoo's bus notification to the owner's tabs when a thread's state changes:
# ``{"thread_id", "state"}`` (llm.thread._llm_notify_state).
GENERATION_STATE_NOTIFICATION = "llm_thread/generation_state"
# Odoo's bus notification to the owner's tabs when their list of conversations changes:
# ``{"thread_id", "change"}``, ``change`` one of THREAD_LIST_CHANGES (llm.thread._llm_notify_list).
THREAD_LIST_NOTIFICATION = "llm_thread/thread_list"
THREAD_LIST_CHANGES = ("created", "renamed", "deleted")

# The keys of a stored message's ``body_json``. An answer's: engine/turn.py ``Turn.data``
# (finish_reason ... usage), ``approvals`` merged by llm_tool_approval; a tool result's:
# engine/generation.py ``_store_tool_result`` (tool_call_id ... is_error, records); a
# question's: ``knowledge``, its sources (llm_knowledge_thread).
STORED_BODY_KEYS = (
    "finish_reason", "interrupted", "stopped", "error", "tool_calls", "reasoning",
    "reasoning_seconds", "usage", "approvals", "tool_call_id", "name", "arguments", "is_error",
    "records", "knowledge",
)


def event(name, /, **payload):
    """One protocol event; refuses names and fields the protocol does not define, so the
    Python side can never drift from the table the TypeScript side is checked against."""
    fields = EVENTS[name]
    if payload.keys() != fields.keys():
        raise ValueError(f"event {name!r} takes {sorted(fields)}, got {sorted(payload)}")
    return name, payload


def encode_sse(name, payload, event_id=None):
    """The SSE frame of one event, as bytes; ``event_id`` is what a reconnecting client sends
    back as ``Last-Event-ID`` (``<run tag>:<sequence>``, engine/run.py)."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {data}\n\n".encode()


if __name__ == "__main__":
    print(json.dumps({
        "events": EVENTS, "error_codes": ERROR_CODES, "generation_states": GENERATION_STATES,
        "busy_states": BUSY_STATES, "notification": GENERATION_STATE_NOTIFICATION,
        "list_notification": THREAD_LIST_NOTIFICATION, "list_changes": THREAD_LIST_CHANGES,
        "stored_body_keys": sorted(STORED_BODY_KEYS),
    }, indent=1, sort_keys=True))
