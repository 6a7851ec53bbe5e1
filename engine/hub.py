"""Runs seen across processes: several Odoo servers (or prefork workers and the gevent process)
on one database, behind a load balancer.

Why it is shaped this way:

- A viewer may reach any process, a run lives in one. PostgreSQL is the only thing they all
  share, so they talk through it: ``LISTEN``/``NOTIFY`` on :data:`CHANNEL`, on the process's
  liveness connection (:class:`.claim.Liveness`, one per process and database, which already
  identifies the process: a claim's ``generation_owner`` is its backend pid). No connection
  is added for listening; one more is opened for sending, only once a process has something
  to send to another.
- Nothing is sent while nobody on another process watches: a viewer elsewhere asks the owner
  (``watch``); the owner answers with its log so far, compacted, then relays each new event
  to that process only. The watching process keeps a :class:`Mirror` (an
  :class:`.run.EventLog` with the owner's event ids) that any number of its viewers follow;
  a reconnect may land on either process with the same ``Last-Event-ID``.
- Stop from any process: the stop flag is committed with a ``stop`` notification (sent in the
  same transaction, so it arrives after the flag is visible), which the owner applies at
  once; without it, the owner still reads the flag within a second.
- A dead owner (``kill -9``, a crash, a lost machine) drops its liveness lock with its
  session. Every hub checks the owners of the runs it mirrors every ``CHECK_INTERVAL`` and
  sweeps the claims of dead processes every ``SWEEP_INTERVAL``: their threads are released,
  their mirrors end, and the viewers are told.
- Payloads are at most 8000 bytes: an event batch is JSON, cut into numbered pieces sent in
  order by one sender thread.
"""

import json
import logging
import queue
import select
import threading
import time

import psycopg2

from odoo import SUPERUSER_ID, api, sql_db

from . import claim, runtime
from .run import EventLog, compact

_logger = logging.getLogger(__name__)

CHANNEL = "llm_thread_runs"
PIECE_CHARS = 3000  # of the batch's ASCII JSON, itself quoted in the payload: < 8000 bytes
CHECK_INTERVAL = 2.0
SWEEP_INTERVAL = 10.0


def notify(cr, message):
    """Send ``message`` to every hub of the database when ``cr``'s transaction commits."""
    cr.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps(message)))


class Mirror(EventLog):
    """Another process's run, as this process's viewers see it."""

    def __init__(self, dbname, thread_id, owner):
        super().__init__(dbname, thread_id, None)
        self.owner = owner
        self.pieces = []

    def receive(self, tag, events):
        with self.changed:
            self.tag = self.tag or tag
            last = self.events[-1][0] if self.events else 0
            for seq, name, payload in events:
                if seq > last and not self.ended:  # a relay may repeat what the answer held
                    self.append(name, payload, seq)
                    last = seq


class Hub:
    """This process's messaging with the other processes of one database."""

    _lock = threading.Lock()
    _hubs = {}  # dbname -> Hub

    @classmethod
    def of(cls, registry):
        """The database's hub in this process, started on first use."""
        with cls._lock:
            hub = cls._hubs.get(registry.db_name)
            if hub is None or not hub.alive():
                hub = cls._hubs[registry.db_name] = cls(registry)
                hub.start()
            return hub

    def __init__(self, registry):
        self.registry = registry
        self.dbname = registry.db_name
        self.pid, self.connection = claim.Liveness.connection(registry)
        self.mirrors = {}  # thread id -> Mirror (live, or ended not long ago)
        self.mirrors_lock = threading.Lock()
        self.outbox = queue.Queue()
        self._sender = None
        self._listener = None
        self._checked = self._swept = time.monotonic()

    def alive(self):
        return self._listener is not None and self._listener.is_alive() \
            and not self.connection.closed

    def start(self):
        with self.connection.cursor() as cr:
            cr.execute(f"LISTEN {CHANNEL}")
        self._listener = threading.Thread(target=self._listen, daemon=True,
                                          name=f"llm-hub-{self.dbname}")
        self._listener.start()

    # -- sending ---------------------------------------------------------

    def send(self, message):
        """Queue ``message`` for every hub of the database; sent in order, at once."""
        if self._sender is None:
            with self._lock:
                if self._sender is None:
                    self._sender = threading.Thread(target=self._send_loop, daemon=True,
                                                    name=f"llm-hub-send-{self.dbname}")
                    self._sender.start()
        self.outbox.put(message)

    def _send_loop(self):
        _dbname, info = sql_db.connection_info_for(self.dbname)
        connection = None
        while True:
            message = self.outbox.get()
            for attempt in range(2):
                try:
                    if connection is None or connection.closed:
                        connection = psycopg2.connect(**info)
                        connection.autocommit = True
                    with connection.cursor() as cr:
                        notify(cr, message)
                    break
                except psycopg2.Error:
                    connection = None  # reconnect once; a viewer elsewhere waits otherwise
                    if attempt:
                        _logger.warning("llm.thread hub: a message to other servers was "
                                        "lost", exc_info=True)

    def send_events(self, thread_id, to, tag, events):
        """``events`` of a run for the viewers of process ``to``, cut into pieces."""
        data = json.dumps(events)
        pieces = [data[i:i + PIECE_CHARS] for i in range(0, len(data), PIECE_CHARS)] or [""]
        for index, piece in enumerate(pieces):
            self.send({"k": "ev", "t": thread_id, "to": to, "r": tag, "i": index,
                       "n": len(pieces), "d": piece})

    # -- watching another process's run ------------------------------------

    def mirror(self, thread_id, owner, tag=None):
        """The mirror of thread ``thread_id``'s run on process ``owner`` (asked for if new);
        an ended one is returned only to a reconnect with its ``tag``."""
        with self.mirrors_lock:
            mirror = self.mirrors.get(thread_id)
            if mirror is not None and (not mirror.ended or (tag and mirror.tag == tag)):
                return mirror
            mirror = self.mirrors[thread_id] = Mirror(self.dbname, thread_id, owner)
        self.send({"k": "watch", "t": thread_id, "to": owner, "from": self.pid})
        return mirror

    # -- listening ---------------------------------------------------------

    def _listen(self):
        connection = self.connection
        while not connection.closed:
            try:
                readable, _w, _x = select.select([connection], [], [], 1.0)
                if readable:
                    connection.poll()
                    while connection.notifies:
                        self._receive(json.loads(connection.notifies.pop(0).payload))
                self._duties()
            except (psycopg2.Error, OSError, ValueError):
                _logger.warning("llm.thread hub: the listening connection failed; the next "
                                "use starts a new one", exc_info=True)
                return
            except Exception:  # noqa: BLE001 - one bad message must not stop the hub
                _logger.exception("llm.thread hub: a message could not be handled")

    def _receive(self, message):
        kind, thread_id = message.get("k"), message.get("t")
        if kind == "stop":
            runtime.cancel_local(self.dbname, thread_id, "stopped")
        elif message.get("to") != self.pid:
            return
        elif kind == "watch":
            self._answer_watch(thread_id, message["from"])
        elif kind == "ev":
            with self.mirrors_lock:
                mirror = self.mirrors.get(thread_id)
            if mirror is None:
                return
            mirror.pieces.append(message["d"])
            if message["i"] == message["n"] - 1:
                data, mirror.pieces = "".join(mirror.pieces), []
                mirror.receive(message["r"], json.loads(data))
        elif kind == "gone":
            self._end_mirror(thread_id)

    def _answer_watch(self, thread_id, to):
        run = runtime.current_run(self.dbname, thread_id)
        if run is None:
            self.send({"k": "gone", "t": thread_id, "to": to})
            return
        with run.changed:
            # Under the log's lock: every later event is relayed after this answer.
            self.send_events(thread_id, to, run.tag, compact(run.events))
            if not run.ended:
                run.relays[to] = lambda run, events: self.send_events(
                    run.thread_id, to, run.tag, events)

    # -- dead owners -------------------------------------------------------

    def _duties(self):
        now = time.monotonic()
        if now - self._checked >= CHECK_INTERVAL:
            self._checked = now
            with self.mirrors_lock:
                watched = [(t, m.owner) for t, m in self.mirrors.items() if not m.ended]
            if watched:
                with self.connection.cursor() as cr:
                    for thread_id, owner in watched:
                        if not claim.owner_alive(cr, owner):
                            self._end_mirror(thread_id)
        if now - self._swept >= SWEEP_INTERVAL and not self.registry.in_test_mode():
            self._swept = now
            self._sweep()

    def _sweep(self):
        """Release the claims of dead processes (their answers are stored, marked
        interrupted); the other tabs are told over the bus."""
        with self.connection.cursor() as cr:
            cr.execute("""SELECT generation_owner FROM llm_thread
                           WHERE generation_state IN ('generating', 'waiting')""")
            owners = {owner for owner, in cr.fetchall()}
            if all(claim.owner_alive(cr, owner) for owner in owners):
                return  # the usual case: one cheap query, no transaction
        with runtime.db_slot(), self.registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["llm.thread"]._cron_clear_stale_generations()

    def _end_mirror(self, thread_id):
        """The run's owner is gone (or has no such run): end the mirror with the thread's
        state, after releasing the claim if its process died."""
        with self.mirrors_lock:
            mirror = self.mirrors.get(thread_id)
        if mirror is None or mirror.ended:
            return
        if not self.registry.in_test_mode():
            with runtime.db_slot(), self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["llm.thread"]._cron_clear_stale_generations()
        with self.connection.cursor() as cr:
            cr.execute("SELECT generation_state FROM llm_thread WHERE id = %s", (thread_id,))
            row = cr.fetchone()
        state = row[0] if row else "idle"
        mirror.end("error" if state in ("generating", "waiting") else state)
