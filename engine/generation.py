"""One generation of an llm.thread: the provider stream, the agent loop and persistence.

Why it is shaped this way:

- No cursor is held while the provider is waited on. ``llm.thread._llm_generate()`` commits the
  claim, the user's message and the answer's empty message in the caller's transaction, after
  reading there what the first model call needs (``prepare_first_call``); from then on every
  database access is a short transaction of its own (``_env()``): save the first text at once
  and the rest at most every ``FLUSH_INTERVAL``, run a tool, finalise. A stream thus uses a
  connection a few milliseconds per half second, which is what lets one gevent process serve
  hundreds of streams with a small pool.
- Those short transactions go through a per-process semaphore sized from the pool
  (``runtime.db_slot``): under load a stream waits a few milliseconds for a slot instead of
  failing with Odoo's "connection pool is full".
- The provider is read in a pump thread (a greenlet under gevent) feeding a queue, so the
  consumer wakes up on its own even when the provider is silent: to save the partial answer
  and to poll the persisted stop flag.
- It is driven by its run (:mod:`.run`), in a thread of its own: viewers come and go, the
  generation goes on.
- Deltas are coalesced: the first one goes out at once (latency), later ones at most every
  ``EMIT_INTERVAL`` (bytes and CPU stay proportional to the answer).
- The "lock" over a whole generation is a persisted claim (state, owner, token): see
  :mod:`.claim`.
- This package never imports ``models/``: it reaches Odoo records through the environments
  it opens (``env["llm.thread"]`` ...).
"""

import itertools
import json
import logging
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager

import psycopg2
from markupsafe import Markup, escape

from odoo import api, fields
from odoo.exceptions import UserError
from odoo.service.model import (MAX_TRIES_ON_CONCURRENCY_FAILURE,
                                PG_CONCURRENCY_EXCEPTIONS_TO_RETRY)

from ..providers import base
from . import protocol, runtime
from .protocol import event
from .tokens import call_usage, carries_history, estimate_prompt_tokens
from .turn import Turn, message_text

_logger = logging.getLogger(__name__)

EMIT_INTERVAL = 0.03
FLUSH_INTERVAL = 0.5
TICK_INTERVAL = 0.25
STOP_POLL_INTERVAL = 1.0
HEARTBEAT_EVENT_INTERVAL = 10.0
HEARTBEAT_DB_INTERVAL = 30.0
TOOL_RESULT_MAX_CHARS = 20_000
MAX_PARALLEL_TOOLS = 4
PUMP_QUEUE_SIZE = 16
# Sent after an answer cut by the length limit when the user asks to continue it, unless the
# provider continues the answer from its text itself (Provider.supports_prefill: Claude up to
# 4.5, without thinking); the new text is appended to the same message either way.
CONTINUE_INSTRUCTION = ("Your previous answer was cut off by the length limit. Continue it "
                        "exactly where it stopped, without repeating anything or commenting.")

# The pump's queue items besides provider events.
_END = object()
_TICK = object()
# Not queued: what the pump yields first, once the request to the provider is on its way.
_SENT = object()


class _Failure:
    def __init__(self, exc):
        self.exc = exc


class Generation:
    """Iterator of protocol events ``(name, payload)`` of one generation.

    Created by ``llm.thread._llm_start()`` with the claim; driven by its :class:`.run.Run`.
    Closing it early keeps the partial answer, marked stopped, and releases the claim.
    """

    def __init__(self, thread, token, user_message_id, model, provider, continue_message_id=None,
                 replaced_id=None):
        env = thread.env
        self.registry = env.registry
        self.dbname = env.cr.dbname
        self.uid = env.uid
        self.context = dict(env.context)
        self.thread_id = thread.id
        self.token = token
        self.user_message_id = user_message_id
        # The parent of the next message created, when known without a lookup: the user's
        # message is the first answer's.
        self._parent_id = user_message_id
        # The answer the first turn appends to (Continue), as Turn arguments once read.
        self.continue_message_id = continue_message_id
        self._continued = ()
        # The answer a regenerate replaces (an earlier version now): shown again when no
        # answer replaces it (stopped before the first word), until one is kept.
        self.replaced_id = replaced_id
        # What the first model call needs and the answer's message, when the starting
        # transaction read and created them (prepare_first_call); else the run does.
        self._first_call = None
        self._first_message_id = None
        # (provider client, api model, context window, answer reserve, step limit,
        # knowledge), read with the first call.
        self._setup = None
        self.cancel = base.CancelToken()
        self.stop_reason = None  # "stopped" (the user), "lost" (another process took over)
        self._turn = None
        # The llm.model and llm.provider ids answering (_llm_generate() chose them).
        self._records = (model.id, provider.id)
        # Whether the current model call reserved under a hard budget (llm.budget): its usage
        # line replaces the reservation.
        self._reserved = False
        self._started = False
        self._released = False
        # Whether the owner's other tabs were told that this generation runs (_sync).
        self._told_other_tabs = False
        self._state = "idle"
        self._error = None
        # The budgets' warning the viewers were last told ("budget_warning").
        self._warning = ""
        now = time.monotonic()
        self._last_emit = 0.0
        self._last_poll = now
        self._last_heartbeat = now
        self._events = self._run_guarded()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._events)

    def close(self):
        started = self._started
        self._events.close()
        if not started:  # never iterated: nothing streamed, only the claim to give back
            self._release()

    def request_stop(self, reason):
        if self.stop_reason is None:
            self.stop_reason = reason
        self.cancel.cancel()

    def prepare_first_call(self, thread, history=None):
        """Read what the first model call needs, and create the answer's (empty) message, in
        the starting transaction, ``thread`` (in its environment) holding the user's new
        message (``history``: the active path read there, new message included): that
        transaction's caches are warm, and the run then sends the request at once, with
        nothing to read or write before the first delta (two transactions of its own on that
        way took about 23 ms).

        Not for an answer that searches knowledge sources (the search may call an embedding
        provider, never with the starting transaction's cursor held), nor without a new user
        message (a regenerated or continued answer, calls resumed after approval): the run
        reads those itself."""
        if self.user_message_id and not self.continue_message_id \
                and not thread._llm_knowledge_sources():
            self._first_call = self._read_call(thread.with_context(active_test=False), 0,
                                               search_knowledge=None, history=history)
            self._first_message_id = thread._llm_create_message(
                "assistant", "", Turn().data(False, partial=True),
                parent=thread.env["mail.message"].browse(self._parent_id)).id
            self._parent_id = None

    def _read_call(self, thread, iteration, search_knowledge, history=None):
        """What model call ``iteration`` of this answer needs, read in ``thread``'s transaction:
        (messages, tools, estimated prompt tokens, budget refusal, budget warning, chat
        options); None past the step limit. The first one also resolves the model and
        reads the knowledge (once per answer; ``search_knowledge`` None: there is none).
        ``history``: the thread's active path when the caller read it already."""
        env = thread.env
        model_record = env["llm.model"].browse(self._records[0])
        if not iteration:
            self._setup = (*thread._llm_resolve_model(
                model_record, env["llm.provider"].browse(self._records[1])),
                thread._llm_max_iterations(),
                search_knowledge is not None and thread._llm_knowledge(search_knowledge))
        provider, model, window, reserve, max_iterations, knowledge = self._setup
        if iteration == max_iterations:
            return None
        messages = thread._llm_build_messages(window, reserve,
                                              knowledge.block if knowledge else "", history)
        continuing = self.continue_message_id and not iteration
        if continuing:
            continued = env["mail.message"].browse(self.continue_message_id)
            self._continued = (continued.id, message_text(continued), continued.body_json)
            messages.append(base.ChatMessage("user", CONTINUE_INSTRUCTION))
        # A model not marked Tools is asked without them: some servers refuse a request with
        # tools for such a model (Ollama), others ignore them; the chat's header says so.
        tools = [tool._llm_spec() for tool in thread._llm_enabled_tools()] \
            if model_record.supports_tools else []
        # Before every call, so a tool loop cannot run past a budget either.
        prompt_tokens = estimate_prompt_tokens(messages, tools)
        refusal, warning, answer_cap, self._reserved = env["llm.budget"]._llm_check_call(
            model_record, prompt_tokens, reserve, (self.thread_id, self.token),
            history=carries_history(messages))
        options = thread._llm_chat_options(model_record, answer_cap)
        if continuing and provider.supports_prefill(model, messages[:-1], options):
            # The history ends with the answer: the model goes on from its text, asked nothing
            # (the instruction counted in the prompt above only made the estimate larger).
            messages.pop()
        return messages, tools, prompt_tokens, refusal, warning, options

    # -- database ------------------------------------------------------

    @contextmanager
    def _env(self):
        with runtime.db_slot(), self.registry.cursor() as cr:
            yield api.Environment(cr, self.uid, self.context)

    def _thread(self, env):
        return env["llm.thread"].with_context(active_test=False).browse(self.thread_id)

    def _sync(self, turn=None):
        """Flush the partial answer (if any), read the stop flag, beat the heartbeat."""
        now = time.monotonic()
        self._last_poll = now
        try:
            with self._env() as env:
                env.cr.execute("""SELECT generation_stop_requested, generation_token
                                    FROM llm_thread WHERE id = %s""", (self.thread_id,))
                row = env.cr.fetchone()
                if row is None:
                    # The conversation is gone (its owner's user deleted, say): nothing to
                    # write the answer into, and nobody waiting for it.
                    self.request_stop("stopped")
                    return
                stop, token = row
                if turn is not None and turn.message_id and turn.dirty:
                    # Plain SQL on this hot path: the ORM would sanitize the whole (growing)
                    # body at every flush, which under load made a stream's cost grow with its
                    # duration. The value is our own escaped text in the form the sanitizer
                    # gives it; the message was created through the ORM, as the user, by this
                    # generation, and _finalise() writes the final version through the ORM.
                    env.cr.execute(
                        "UPDATE mail_message SET body = %s, body_json = %s WHERE id = %s",
                        (Markup("<p>%s</p>") % "".join(turn.text),
                         json.dumps(turn.data(False, partial=True)), turn.message_id))
                    self._thread(env)._llm_answer_progress(
                        env["mail.message"].browse(turn.message_id), False)
                if token != self.token:
                    self.request_stop("lost")  # a stale-claim takeover: another run owns it
                    return
                if not self._told_other_tabs:
                    # Told at the first sync (within a second), not before the first delta:
                    # the bus's notification costs a second connection and a round trip.
                    self._thread(env)._llm_notify_state()
                    self._told_other_tabs = True
                if stop:
                    self.request_stop("stopped")
                elif now - self._last_heartbeat >= HEARTBEAT_DB_INTERVAL:
                    self._set_claim(env, {"generation_heartbeat": fields.Datetime.now()})
                    self._last_heartbeat = now
        except psycopg2.errors.SerializationFailure:
            # The stop route wrote the thread meanwhile; the next sync reads its flag.
            return
        if turn is not None:
            turn.dirty = False
            turn.flushed_at = now

    def keep_claim(self):
        """Keep the claim alive while the run waits to begin (its turn, ``runtime.Turns``):
        the heartbeat, and the stop flag read (a stop cancels the wait)."""
        self._sync()

    def _set_claim(self, env, values):
        """Write on the thread only while this generation still owns its claim."""
        # exists(): a conversation gone meanwhile has no claim left to write (_sync).
        thread = self._thread(env).exists().filtered(lambda t: t.generation_token == self.token)
        thread.sudo().write(values)  # the generation's state: the server's (llm_thread.py)
        if "generation_state" in values:
            thread._llm_notify_state()

    def _write_claim(self, values):
        """``_set_claim`` in a transaction of its own, retried when a concurrent write on the
        thread (the stop route) makes it fail to serialize."""
        self._transaction(lambda env: self._set_claim(env, values))

    def _transaction(self, work):
        """``work(env)`` in a transaction of its own, run again in a new one when a concurrent
        transaction makes it fail to serialize, or a lock it waits for is refused or
        deadlocked (a write on the thread, a budget's check, a deletion, a visitor's post), as
        Odoo tries a request again; returns what it returns."""
        for attempt in range(1, MAX_TRIES_ON_CONCURRENCY_FAILURE + 1):
            try:
                with self._env() as env:
                    return work(env)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as exc:
                if attempt == MAX_TRIES_ON_CONCURRENCY_FAILURE:
                    raise
                _logger.info("llm.thread %s: a transaction met a concurrent update (%s), "
                             "tried again", self.thread_id, exc.pgcode)

    def _release(self):
        if self._released:
            return
        self._released = True
        self._write_claim({
            "generation_state": self._state,
            "generation_error": self._error and self._error[1],
            "generation_token": False,
            "generation_owner": 0,
            "generation_stop_requested": False,
        })

    # -- the run ---------------------------------------------------------

    def _run_guarded(self):
        self._started = True
        try:
            yield from self._run()
        except GeneratorExit:
            # Closed before its end (its run's process is shutting down): kept as stopped.
            self.request_stop("stopped")
            if self._turn and not self._turn.final:
                self._finalise(self._turn)
            raise
        finally:
            self._release()
        # Released before "done": a client may start the next generation as soon as it
        # reads it.
        yield event("done", thread_id=self.thread_id, state=self._state)

    def _run(self):
        if self.user_message_id:
            yield event("message_created", message_id=self.user_message_id, role="user")
        try:
            yield from self._agent_loop()
        except Exception:
            _logger.exception("llm.thread %s: generation failed", self.thread_id)
            self._error = (protocol.ERROR_INTERNAL,
                           self._translate("The answer failed because of an internal error; "
                                           "the server log has the details."))
            if self._turn and not self._turn.final:
                self._turn.error = self._error
                self._finalise(self._turn)
        if self.stop_reason == "lost":
            # Another process took the thread over (this one looked dead to it): an
            # "already generating" error rather than an end as if the user had stopped. The
            # thread is the other generation's now, and "done" says so.
            self._state = "generating"
            yield event("error", code=protocol.ERROR_ALREADY_GENERATING,
                        message=self._translate(
                            "Another request took over this conversation, so this answer was "
                            "stopped. The conversation shows the new answer when it ends."),
                        detail="", message_id=self._turn and self._turn.message_id)
        elif self._error:
            self._state = "error"
            yield event("error", code=self._error[0], message=self._error[1],
                        detail=(self._turn and self._turn.error_detail) or "",
                        message_id=self._turn and self._turn.message_id)

    def _translate(self, source, **params):
        with self._env() as env:
            return env._(source, **params)

    def _agent_loop(self):
        # Knowledge is searched once per answer: a continued answer and calls resumed after
        # approval get the passages their question stored.
        search_knowledge = not self.continue_message_id
        if not self.user_message_id:
            # Continuing after the owner decided on calls waiting for approval: run them
            # (denied ones answer an error) before the model is called again.
            with self._env() as env:
                message_id, calls = self._thread(env)._llm_calls_to_resume()
            if calls:
                search_knowledge = False
                self._turn = Turn()  # the stored answer that asked for the calls
                self._turn.message_id, self._turn.final = message_id, True
                self._turn.announced = True
                yield from self._run_tools(calls)
                if self.stop_reason or self._state == "approval":
                    return
        for iteration in itertools.count():
            call, self._first_call = self._first_call, None
            if call is None:
                # One transaction per model call: it is on the way to the first delta.
                call = self._transaction(lambda env: self._read_call(
                    self._thread(env), iteration, search_knowledge))
                if call is None:
                    break
            messages, tools, prompt_tokens, refusal, warning, options = call
            provider, model, _window, _reserve, max_iterations, knowledge = self._setup
            if warning and not iteration:
                self._warning = warning
                yield event("budget_warning", message=warning)
            if knowledge and not iteration:
                yield event("citations", message_id=knowledge.message_id,
                            citations=knowledge.citations)
            yield from self._stream_turn(provider, model, messages, tools,
                                         refusal and (protocol.ERROR_BUDGET_EXCEEDED, refusal),
                                         prompt_tokens, options)
            turn = self._turn
            if turn.error:
                self._error = turn.error
                return
            if self.stop_reason or not turn.calls:
                return
            yield from self._run_tools(turn.calls)
            if self.stop_reason or self._state == "approval":
                return
        self._error = (protocol.ERROR_ITERATION_LIMIT, self._translate(
            "Stopped after %(count)s steps without a final answer. Ask again to let the "
            "assistant continue, or narrow the question.", count=max_iterations))
        with self._env() as env:
            message = env["mail.message"].browse(self._turn.message_id)
            message.sudo().body_json = dict(message.body_json or {}, error={
                "code": self._error[0], "message": self._error[1]})

    def _stream_turn(self, provider, model, messages, tools, refusal, prompt_tokens, options):
        """One model call; ``refusal`` (code, message) fails it before any request is sent."""
        turn = self._turn = Turn(*self._continued)
        if self._continued:
            # The answer continued, from its start: a viewer (this one, or one attaching
            # later, after a reload) rebuilds it from the log, whatever it showed before.
            yield from self._announce(turn)
            if turn.reasoning:
                yield event("reasoning_delta", message_id=turn.message_id,
                            text="".join(turn.reasoning))
            if turn.text:
                yield event("text_delta", message_id=turn.message_id, text="".join(turn.text))
        self._continued = ()
        turn.prompt_tokens = prompt_tokens
        turn.error = refusal
        # Stopped already (while it waited for its turn): the provider is not asked at all.
        turn.sent = not (refusal or self.stop_reason)
        stream = provider.chat(model, messages, tools, options, cancel=self.cancel) \
            if turn.sent else iter(())
        try:
            for item in self._pump(stream, turn):
                if item is _SENT:
                    # The answer's message exists before the provider's first event: no
                    # database write is on the way to the first delta.
                    self._ensure_message(turn)
                    continue
                # The turn records each event before anything is yielded: a yield may be
                # where the client's disconnection surfaces, and what was received is kept.
                if isinstance(item, base.TextDelta):
                    turn.end_reasoning()
                    turn.text.append(item.text)
                    turn.pending_text.append(item.text)
                    turn.dirty = True
                elif isinstance(item, base.ReasoningDelta):
                    if turn.reasoning_started is None:
                        turn.reasoning_started = time.monotonic()
                    turn.reasoning.append(item.text)
                    turn.pending_reasoning.append(item.text)
                    turn.dirty = True
                elif isinstance(item, base.ToolCallEvent):
                    turn.end_reasoning()
                    turn.call_offsets.append(sum(map(len, turn.text)))
                    call = turn.add_call(item.call)
                    yield from self._emit_pending(turn)
                    yield from self._announce(turn)
                    yield event("tool_call_started", message_id=turn.message_id,
                                call_id=call.id, name=call.name, arguments=call.arguments)
                elif isinstance(item, base.Retrying):
                    # Nothing else arrives during the back-off: say why, and for how long.
                    yield event("retrying", seconds=item.seconds, code=item.kind)
                elif isinstance(item, base.Usage):
                    turn.usage = item
                elif isinstance(item, base.Finish):
                    turn.finish_reason = item.reason
                yield from self._duties(turn)
        except base.ProviderError as exc:
            turn.failed_counts = (exc.input_tokens, exc.output_tokens)
            if not (exc.kind == "cancelled" and self.stop_reason):
                with self._env() as env:
                    # In the user's language, and for who can fix it (llm.provider).
                    message = env["llm.provider"]._error_message(exc)
                turn.error = (exc.kind, message)
                turn.error_detail = exc.detail
                _logger.info("llm.thread %s: provider error %s: %s %s", self.thread_id,
                             exc.kind, exc.message, exc.detail)
        if self.stop_reason and turn.calls:
            turn.calls = []  # a stopped turn runs no tool
        yield from self._emit_pending(turn)
        if self.stop_reason and not turn.announced and not turn.error:
            # Stopped before the answer began: there is no answer to keep.
            self._discard(turn)
        else:
            # A failure is kept in the conversation even when it came before any token.
            self._ensure_message(turn)
            yield from self._announce(turn)
            self._finalise(turn)
            if turn.usage:
                yield event("usage", message_id=turn.message_id,
                            input_tokens=turn.usage.input_tokens,
                            output_tokens=turn.usage.output_tokens,
                            estimated=turn.estimated, **turn.billing)
            if turn.budget_warning is not None and turn.budget_warning != self._warning:
                # The chat shows the budgets as they are after this answer, not before it.
                self._warning = turn.budget_warning
                yield event("budget_warning", message=turn.budget_warning)
            yield event("message_final", message_id=turn.message_id,
                        finish_reason=turn.reason,
                        stopped=turn.stopped, error=turn.error and turn.error[1])

    def _pump(self, stream, turn):
        """``_SENT`` once the request is on its way (sent by a pump thread), then the
        provider's events as they arrive, plus ``_TICK`` whenever it is silent long enough for
        pending text or an idle check to be due."""
        # Bounded: a provider faster than the client waits for it (memory stays bounded), and
        # under gevent a provider that never blocks cannot starve the consumer either.
        events = queue.Queue(maxsize=PUMP_QUEUE_SIZE)

        pump_done = threading.Event()

        def put(item):
            while True:
                try:
                    events.put(item, timeout=TICK_INTERVAL)
                    return True
                except queue.Full:
                    if self.cancel.cancelled:
                        return False  # the consumer has stopped reading

        def run():
            try:
                for item in stream:
                    if not put(item):
                        return
                put(_END)
            except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
                put(_Failure(exc))
            finally:
                pump_done.set()

        threading.Thread(target=run, name=f"llm-thread-{self.thread_id}", daemon=True).start()
        yield _SENT
        while True:
            timeout = EMIT_INTERVAL if turn.pending_text or turn.pending_reasoning else TICK_INTERVAL
            try:
                item = events.get(timeout=timeout)
            except queue.Empty:
                if pump_done.is_set() and events.empty():
                    return  # cancelled while the queue was full: the stream just ends
                item = _TICK
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item

    def _ensure_message(self, turn):
        """Create the answer's message, empty, unless it exists (made by the starting
        transaction, or the answer continued). Clients hear of it with its first content
        (``_announce``); that content is saved as soon as it comes (``flushed_at`` left in
        the past makes the first save due), and the rest at most every ``FLUSH_INTERVAL``."""
        if turn.message_id:
            return
        if self._first_message_id:  # created by the starting transaction
            turn.message_id, self._first_message_id = self._first_message_id, None
        else:
            with self._env() as env:
                thread = self._thread(env)
                parent = env["mail.message"].browse(self._parent_id) if self._parent_id else None
                turn.message_id = thread._llm_create_message(
                    "assistant", "", turn.data(False, partial=True), parent=parent).id
                self._parent_id = None  # later ones follow tool results: looked up
        turn.flushed_at = 0.0

    def _announce(self, turn):
        """``message_created`` for the answer, once, before anything about it is sent: until
        then a client shows its "waiting" state (and the provider's back-off)."""
        if not turn.announced:
            turn.announced = True
            yield event("message_created", message_id=turn.message_id, role="assistant")

    def _discard(self, turn):
        """Remove the empty message of an answer stopped before it began: the answer a
        regenerate was to replace is the one shown again, as before it. A request that was
        sent is counted all the same, by its prompt (providers bill the input tokens of a
        cancelled request): estimated, unless the provider counted it."""
        # Not after a takeover ("lost"): the conversation's path is the other run's then.
        replaced = self.replaced_id if self.stop_reason == "stopped" else None
        known_input = turn.failed_counts[0]
        if turn.sent and not turn.usage:
            turn.usage = base.Usage(turn.prompt_tokens if known_input is None else known_input, 0)
            turn.estimated = known_input is None

        def discard(env):
            thread = env["llm.usage"]._llm_existing(self._thread(env))
            self._count(env, thread, env["mail.message"], turn)
            if turn.message_id:
                env["mail.message"].sudo().browse(turn.message_id).exists().unlink()
            if replaced and thread:
                thread._llm_activate(env["mail.message"].sudo().browse(replaced))

        if turn.usage or self._reserved or turn.message_id or replaced:
            self._transaction(discard)
            self._reserved = False
        turn.message_id, turn.final = None, True

    def _emit_pending(self, turn):
        if turn.pending_reasoning or turn.pending_text:
            yield from self._announce(turn)
        if turn.pending_reasoning:
            yield event("reasoning_delta", message_id=turn.message_id,
                        text="".join(turn.pending_reasoning))
            turn.pending_reasoning.clear()
        if turn.pending_text:
            yield event("text_delta", message_id=turn.message_id, text="".join(turn.pending_text))
            turn.pending_text.clear()
        self._last_emit = time.monotonic()

    def _duties(self, turn=None):
        """Time-based work, checked after every provider event and on every tick."""
        now = time.monotonic()
        if turn and (turn.pending_text or turn.pending_reasoning) \
                and now - self._last_emit >= EMIT_INTERVAL:
            yield from self._emit_pending(turn)
        if turn and turn.dirty and now - turn.flushed_at >= FLUSH_INTERVAL:
            self._sync(turn)
        elif now - self._last_poll >= STOP_POLL_INTERVAL:
            self._sync()
        if now - self._last_emit >= HEARTBEAT_EVENT_INTERVAL:
            self._last_emit = now
            yield event("heartbeat")

    def _finalise(self, turn):
        """Store the message in its final form: one write per answer."""
        self.replaced_id = None  # an answer is kept: the new version
        new_text, new_reasoning = turn.text[turn.kept[0]:], turn.reasoning[turn.kept[1]:]
        if turn.previous and not (new_text or new_reasoning or turn.calls):
            # A continuation that added nothing (stopped, or failed, before its first word):
            # the answer stays as it was, cut by the length limit, to be continued again; a
            # failure shows under it.
            turn.finish_reason = turn.previous.get("finish_reason")
        elif self.stop_reason:
            turn.finish_reason = self.stop_reason  # "stopped" or "lost"
            turn.stopped = True
        turn.end_reasoning()
        # A continued answer counts only what this call added.
        turn.usage, turn.estimated = call_usage(turn.usage, turn.failed_counts,
                                                turn.prompt_tokens, new_text, new_reasoning,
                                                turn.calls)

        def finalise(env):
            # The conversation or the answer may have been deleted while it was written: the
            # call is counted all the same, and only what exists is written.
            usage = env["llm.usage"]
            thread = usage._llm_existing(self._thread(env))
            message = usage._llm_existing(env["mail.message"].browse(turn.message_id))
            self._count(env, thread, message, turn)
            if message:
                # In sudo: an answer is the server's to write (models/mail_message.py).
                message.sudo().write({"body": escape("".join(turn.text)),
                                      "body_json": turn.data(turn.stopped)})
            if thread and message:
                thread._llm_answer_progress(message, True)

        self._transaction(finalise)
        self._reserved = False
        turn.final = True

    def _count(self, env, thread, message, turn):
        """Write the call's usage line (if any) in its place of its budget reservation (if
        any); ``thread`` and ``message`` as ``llm.usage._llm_existing()`` gives them."""
        model, provider = self._records
        line = env["llm.usage"]._llm_count_call(
            thread, message, env["llm.model"].browse(model), env["llm.provider"].browse(provider),
            turn.usage, turn.estimated, self._reserved and self.token)
        if line:
            turn.billing = {"cost": line.cost, "currency": line.currency_id.name,
                            "model": line.model_id.name or "",
                            "provider": line.provider_id.name or ""}
            turn.budget_warning = env["llm.budget"]._llm_current_warning(
                env["llm.usage"]._llm_company(line.provider_id))

    # -- tools -------------------------------------------------------------

    def _run_tools(self, calls):
        """Run the calls of one turn in parallel, each in its own transaction as the user;
        identical calls (same name and arguments) run once and share the result, except calls
        needing the owner's approval: each has its own decision, so each runs (or is denied)
        on its own. Calls still waiting for a decision end the generation in "approval"."""
        with self._env() as env:
            thread = self._thread(env)
            enabled = thread._llm_enabled_tools()
            tools = {tool.name: tool for tool in enabled}
            tool_ids = {name: tool.id for name, tool in tools.items()}
            decided_one_by_one = {name for name, tool in tools.items() if tool.requires_approval}
            waiting = thread._llm_request_approvals(self._turn.message_id, calls, tools)
        waiting_ids = {call.id for call, _preview in waiting}
        groups = {}
        for call in calls:
            if call.id in waiting_ids:
                continue
            key = (call.name, json.dumps(call.arguments, sort_keys=True))
            if call.name in decided_one_by_one:
                key += (call.id,)
            groups.setdefault(key, []).append(call)
        self._write_claim({"generation_state": "waiting"})
        pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_TOOLS, len(groups))),
                                  thread_name_prefix=f"llm-tool-{self.thread_id}")
        try:
            futures = {pool.submit(self._execute_tool, group[0],
                                   tool_ids.get(group[0].name)): group
                       for group in groups.values()}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=TICK_INTERVAL, return_when=FIRST_COMPLETED)
                for future in done:
                    result, error = future.result()
                    for call in futures[future]:
                        yield from self._store_tool_result(call, result, error)
                yield from self._duties()
        finally:
            pool.shutdown(wait=False)
        if waiting:
            self._state = "approval"
            for call, preview in waiting:
                yield event("approval_required", message_id=self._turn.message_id,
                            call_id=call.id, name=call.name, preview=preview)
            return
        self._write_claim({"generation_state": "generating"})

    def _execute_tool(self, call, tool_id):
        """(result text, None) or (None, error text); runs in a pool thread. ``tool_id``: the
        enabled llm.tool of that name, if any (``llm.tool._llm_execute`` checks it again).
        Every call is written to the audit log (llm.tool.log), refused ones included: a model
        asking for a tool the user may not run is worth knowing about."""
        started = time.monotonic()
        result = error = None
        try:
            with self._env() as env:
                if not tool_id:
                    raise UserError(env["llm.tool"]._llm_not_enabled_message(
                        call.name, self._thread(env)))
                data = env["llm.tool"].browse(tool_id)._llm_execute(
                    call.arguments, self._thread(env), call.id)
                env.flush_all()  # constraint and access errors surface here, not at commit
            result = json.dumps(data, default=str, ensure_ascii=False)
            if len(result) > TOOL_RESULT_MAX_CHARS:
                result = result[:TOOL_RESULT_MAX_CHARS] + " [truncated]"
        except Exception as exc:  # noqa: BLE001 - every tool failure goes back to the model
            if not isinstance(exc, UserError):
                _logger.info("llm tool %s failed", call.name, exc_info=True)
            error = exc.args[0] if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        with self._env() as env:
            env["llm.tool.log"]._llm_record(self._thread(env), env["llm.tool"].browse(tool_id),
                                            call, result, error, time.monotonic() - started)
        return result, error

    def _store_tool_result(self, call, result, error):
        data = {"tool_call_id": call.id, "name": call.name, "arguments": call.arguments}
        if error is not None:
            data["is_error"] = True
        with self._env() as env:
            message = self._thread(env)._llm_create_message(
                "tool", result if error is None else error, data)
            records = [] if error is not None else env["llm.tool"].search(
                [("name", "=", call.name)], limit=1)._llm_touched_records(call.arguments, result)
        yield event("message_created", message_id=message.id, role="tool")
        yield event("tool_call_finished", message_id=message.id, call_id=call.id,
                    name=call.name, result=result, error=error, records=records)
