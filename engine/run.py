"""A generation as a server-side run: it goes on to its end whether or not anyone watches.

Why it is shaped this way:

- The generation (:class:`.generation.Generation`, an iterator of protocol events) is driven
  by a thread of its own (a greenlet under gevent), not by the request that started it: a
  closed tab, a reload or a lost network detaches a viewer and nothing else. Only Stop, the
  end of the answer, an error, a budget refusal, an approval wait or the step limit end it.
- What it produced is kept in memory as a numbered log, for the run's life and
  ``runtime.KEEP_FINISHED`` seconds after: any number of viewers follow the log (:meth:`Run.follow`).
  A viewer that attaches late, or reconnects with the id of the last event it saw
  (``Last-Event-ID``), first gets what it missed compacted (consecutive deltas of a message in
  one event, so a reload costs one event for the text so far, not one per old delta), then
  the live events, with no text lost or doubled. Event ids are ``<run tag>:<sequence>``.
- A run started inside a transaction that has not committed yet (``llm.thread._llm_start()``
  from a server action, an automation, a cron) waits for that commit before it calls the
  model, and never runs if the transaction rolls back: the claim is read back under the
  thread's advisory lock, which the starting transaction holds until it ends.
- Runs of other processes (another server, a prefork worker's handover to the gevent process)
  are reached through :mod:`.hub`.
"""

import contextlib
import logging
import threading
import time

from . import claim, runtime

_logger = logging.getLogger(__name__)

# A viewer with nothing to send writes a heartbeat this often (proxies close idle streams).
HEARTBEAT_INTERVAL = 10.0
# How often a silent viewer checks that its client is still there.
GONE_CHECK = 0.25
# Polling for the starting transaction's end: quick first, then backing off.
COMMIT_POLL_FIRST, COMMIT_POLL_MAX = 0.005, 0.25
# Events never kept in the log: a viewer makes its own heartbeats.
_NOT_LOGGED = {"heartbeat"}
_DELTAS = {"text_delta", "reasoning_delta"}


def compact(events):
    """``events`` ((seq, name, payload), ...) with consecutive deltas of one message merged
    into one event numbered as the last it covers; heartbeats dropped. Only consecutive ones:
    a tool call's place in the text is where the text stood when it came."""
    out = []
    for seq, name, payload in events:
        if name in _NOT_LOGGED:
            continue
        if name in _DELTAS and out and out[-1][1] == name \
                and out[-1][2]["message_id"] == payload["message_id"]:
            previous = out[-1][2]
            out[-1] = (seq, name, {"message_id": payload["message_id"],
                                   "text": previous["text"] + payload["text"]})
        else:
            out.append((seq, name, payload))
    return out


def parse_event_id(value):
    """(run tag, sequence) from a ``Last-Event-ID``, or (None, 0) when it is not one of ours."""
    tag, _sep, seq = (value or "").partition(":")
    return (tag, int(seq)) if tag and seq.isdigit() and len(seq) < 12 else (None, 0)


class EventLog:
    """The numbered events of one run, and the viewers waiting on them. Used for the runs of
    this process (:class:`Run`) and the mirrors of other processes' runs (:mod:`.hub`)."""

    def __init__(self, dbname, thread_id, tag):
        self.dbname = dbname
        self.thread_id = thread_id
        self.tag = tag
        self.events = []  # (seq, name, payload), seq increasing from 1
        self.viewers = 0  # how many followed it (the benchmark's and the tests' figure)
        self.ended = False
        self.ended_at = None
        self.changed = threading.Condition()

    def append(self, name, payload, seq=None):
        with self.changed:
            seq = seq or (self.events[-1][0] + 1 if self.events else 1)
            if name not in _NOT_LOGGED:
                self.events.append((seq, name, payload))
            if name == "done":
                self.ended = True
                self.ended_at = time.monotonic()
            self.changed.notify_all()
            return seq

    def end(self, state):
        """End the log with a ``done`` if it has none (its run died without one); with no
        ``done`` at all when ``state`` is None (a run that never began)."""
        with self.changed:
            if self.ended:
                return
            if state is None:
                self.ended, self.ended_at = True, time.monotonic()
                self.changed.notify_all()
            else:
                self.append("done", {"thread_id": self.thread_id, "state": state})

    def since(self, after):
        """The events numbered after ``after``; the caller holds ``changed``."""
        events = self.events
        if not after:
            return list(events)
        low, high = 0, len(events)
        while low < high:  # ids only grow: the first event after ``after`` by bisection
            middle = (low + high) // 2
            if events[middle][0] <= after:
                low = middle + 1
            else:
                high = middle
        return events[low:]

    def follow(self, after=0, gone=None):
        """Events numbered after ``after`` as ``(event id, name, payload)``: what is there
        compacted, then the live ones as they come (compacted too when several came at once),
        a heartbeat after ``HEARTBEAT_INTERVAL`` of silence, up to ``done``. ``gone()``: whether
        the viewer went away, checked every ``GONE_CHECK`` while nothing happens."""
        last_sent = time.monotonic()
        with self.changed:
            self.viewers += 1
            self.changed.notify_all()
        while True:
            with self.changed:
                batch = self.since(after)
                if not batch and not self.ended:
                    self.changed.wait(GONE_CHECK if gone else HEARTBEAT_INTERVAL)
                    batch = self.since(after)
                ended = self.ended
            if gone and gone():
                return
            if batch:
                after = batch[-1][0]
                for seq, name, payload in compact(batch):
                    yield f"{self.tag}:{seq}", name, payload
                    if name == "done":
                        return
                last_sent = time.monotonic()
            elif ended:
                return
            elif time.monotonic() - last_sent >= HEARTBEAT_INTERVAL:
                last_sent = time.monotonic()
                yield None, "heartbeat", {}

    def __iter__(self):
        """The events from the start, as ``(name, payload)`` (the engine's own iterator
        shape), up to ``done``."""
        for _event_id, name, payload in self.follow():
            if name != "heartbeat":
                yield name, payload


class Run(EventLog):
    """A generation of this process, executing in a thread of its own."""

    def __init__(self, generation, wait_for_commit=False, turns=None):
        super().__init__(generation.dbname, generation.thread_id, generation.token[:8])
        self.generation = generation
        self.token = generation.token
        self.wait_for_commit = wait_for_commit
        # (runtime.Turns, how many at once) when this run takes turns with others.
        self.turns = turns
        self.finished = threading.Event()
        # Relays to other processes' viewers by process (hub.Hub._answer_watch).
        self.relays = {}

    def start(self):
        runtime.register_run(self)
        threading.Thread(target=self._execute, name=f"llm-run-{self.thread_id}",
                         daemon=True).start()
        return self

    def request_stop(self, reason):
        self.generation.request_stop(reason)

    def wait(self, timeout=None):
        """Wait for the end of the run; the thread's generation state then (``idle``,
        ``error``, ``approval``), or None if it is still running after ``timeout`` or never
        began (its starting transaction rolled back)."""
        if not self.finished.wait(timeout):
            return None
        with self.changed:
            last = self.events[-1] if self.events else None
        return last[2]["state"] if last and last[1] == "done" else None

    def append(self, name, payload, seq=None):
        with self.changed:
            seq = super().append(name, payload, seq)
            if name not in _NOT_LOGGED:
                # Under the log's lock, as the hub's answer to a new watcher: each relayed
                # event comes after that answer, never before it.
                for relay in self.relays.values():
                    relay(self, [(seq, name, payload)])
        return seq

    def _execute(self):
        generation = self.generation
        state = "error"
        begun = hook_due = False
        try:
            # Rolled back: no claim, no message, nothing to run, no hook.
            begun = hook_due = not self.wait_for_commit or self._starter_committed()
            if hook_due:
                with self._turn():
                    for name, payload in generation:
                        if name == "done":
                            # Before "done": whoever sees the end (a viewer, run.wait()) sees
                            # what the hook delivered too.
                            state = payload["state"]
                            hook_due = False
                            self._finished_hook()
                        self.append(name, payload)
        except Exception:  # noqa: BLE001 - a run's failure must end its log, never hang viewers
            _logger.exception("llm.thread %s: the run failed", self.thread_id)
        finally:
            generation.close()
            try:
                if hook_due:  # the run failed before its "done"
                    self._finished_hook()
            finally:
                self.end(state if begun else None)
                self.finished.set()
                runtime.run_finished(self)

    def _turn(self):
        """Wait for this run's turn when it takes turns (``runtime.Turns``); hold it to the end."""
        if not self.turns:
            return contextlib.nullcontext()
        turns, limit = self.turns
        return turns.turn(limit, self.generation.cancel, self.generation.keep_claim)

    def _starter_committed(self):
        """Wait for the transaction that claimed the thread to end; whether it committed.

        That transaction holds the thread's advisory lock (``claim.try_lock``) until it ends;
        once the lock can be taken, the claim is read back: ours (committed) or not (rolled
        back). No connection is held while waiting."""
        delay = COMMIT_POLL_FIRST
        while True:
            with self.generation._env() as env:
                if claim.try_lock(env.cr, self.thread_id):
                    env.cr.execute("SELECT generation_token FROM llm_thread WHERE id = %s",
                                   (self.thread_id,))
                    row = env.cr.fetchone()
                    return bool(row) and row[0] == self.token
            time.sleep(delay)
            delay = min(delay * 2, COMMIT_POLL_MAX)

    def _finished_hook(self):
        """``llm.thread._llm_run_finished()`` for the modules acting on a run's end (an
        automation delivering the answer, live chat posting it), in a transaction of its own.

        That transaction is tried again, from the start, when it fails to serialize with a
        concurrent one (``Generation._transaction``, as Odoo tries a request again): what the
        hook does at a run's end (a live chat's hand-off next to the visitor's post, the next
        answer's budget check) is never lost to a race. An extension that locks the rows it
        shares first, quietly (``log_exceptions=False``), gives way with nothing in the log."""
        try:
            # exists(): the conversation may have been deleted while it was answered.
            self.generation._transaction(lambda env: env["llm.thread"].browse(
                self.thread_id).exists()._llm_run_finished())
        except Exception:  # noqa: BLE001 - an extension's failure is its own, the run is over
            _logger.exception("llm.thread %s: _llm_run_finished failed", self.thread_id)


