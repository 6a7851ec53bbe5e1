"""Process-wide state of the generations running in this process.

- A stream's short transactions go through a per-process semaphore sized from the pool
  (``db_slot``): under load a stream waits a few milliseconds for a slot instead of failing
  with Odoo's "connection pool is full".
- ``runs``: the runs of this process (:class:`.run.Run`), running or just finished, so that a
  stop request reaches one at once and viewers attach to it.
- ``action_turns``: the runs of actions and automations take turns (:class:`Turns`).
"""

import collections
import select
import socket
import threading
import time
from contextlib import contextmanager

from psycopg2.pool import PoolError

import odoo
from odoo import sql_db
from odoo.tools import config

POOL_WAIT = 15.0


_slots_lock = threading.Lock()
_slots = None


@contextmanager
def db_slot():
    """One of the pool's connections for a run's short transaction. A third of the pool: a
    transaction that changes the generation state also borrows a second connection at commit
    (the bus's notification), and the rest is left to requests, which runs never starve (200
    runs started at once, with half the pool for them, left 1 connection to the requests of
    the whole process: half of them failed after waiting 15 s)."""
    global _slots  # noqa: PLW0603 - created lazily: the configuration is read after import
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                maxconn = (odoo.evented and config["db_maxconn_gevent"]) or config["db_maxconn"]
                _slots = threading.BoundedSemaphore(max(1, int(maxconn) // 3))
    with _slots:
        yield


class _Ticket(threading.Event):
    """A waiting run's place: set when it is granted its turn, or when the run is cancelled."""

    def __init__(self):
        super().__init__()
        self.granted = False


class Turns:
    """Runs that take turns: at most ``limit`` of this process ask their model at once, the
    others wait in the order they came. An action run on a thousand selected records (or an
    automation on a thousand imported ones) would otherwise send a thousand requests together:
    the provider refuses most of them (its rate limit), and the server carries them all at
    once."""

    # How often a waiting run keeps its claim alive (and reads the stop flag).
    KEEP_ALIVE = 10.0

    def __init__(self):
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = collections.deque()

    def waiting(self):
        """How many runs wait for a turn."""
        with self._lock:
            return len(self._waiting)

    @contextmanager
    def turn(self, limit, cancel, keep_alive):
        """Wait for a turn, then hold it for the body. ``cancel`` (the run's CancelToken)
        ends the wait at once: the body then runs without a turn (it only stops).
        ``keep_alive()`` is called every ``KEEP_ALIVE`` seconds of waiting: a waiting run's
        claim must not look abandoned."""
        ticket = _Ticket()
        cancel.on_cancel(ticket.set)
        with self._lock:
            self._waiting.append(ticket)
            self._pass_on(limit)
        while not ticket.wait(self.KEEP_ALIVE):
            keep_alive()
        with self._lock:
            if not ticket.granted:
                self._waiting.remove(ticket)
        try:
            yield
        finally:
            if ticket.granted:
                with self._lock:
                    self._running -= 1
                    self._pass_on(limit)

    def _pass_on(self, limit):
        while self._waiting and self._running < max(1, limit):
            ticket = self._waiting.popleft()
            ticket.granted = True
            self._running += 1
            ticket.set()


action_turns = Turns()


def _wait_for_pool_connections():
    """Make a full connection pool wait (up to ``POOL_WAIT``) instead of failing.

    Odoo's pool raises "The Connection Pool Is Full" at once. In a prefork worker (one request
    at a time) that never happens; in the gevent process and in the threaded server
    (``--workers=0``), where many streams share one pool, a burst of users starting answers
    together would each get an HTTP 500, or lose an answer mid-way, while a connection frees up
    milliseconds later (threaded, 100 streams: up to 27 failed).
    """
    original = sql_db.ConnectionPool.borrow
    if getattr(original, "llm_waits", False):
        return

    def borrow(pool, connection_info):
        deadline = time.monotonic() + POOL_WAIT
        while True:
            try:
                return original(pool, connection_info)
            except PoolError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)  # a greenlet sleep under gevent

    borrow.llm_waits = True
    sql_db.ConnectionPool.borrow = borrow


_wait_for_pool_connections()  # a no-op in a prefork worker, whose pool is never full


# How long a finished run stays in ``runs``, so that a viewer reconnecting just after the end
# (a network blip at the last events) still gets the exact tail instead of a reload.
KEEP_FINISHED = 60.0

runs_lock = threading.Lock()
runs = {}  # (dbname, thread id) -> the thread's latest Run in this process
# Every run of this process not finished yet, its end hook included (a thread's next run may
# start while the previous one's hook still runs): what a clean shutdown or a test waits for.
unfinished = set()


def register_run(run):
    """Make ``run`` the thread's current run here; forget runs finished long enough ago."""
    now = time.monotonic()
    with runs_lock:
        for key, other in list(runs.items()):
            if other.ended and now - other.ended_at > KEEP_FINISHED:
                del runs[key]
        runs[(run.dbname, run.thread_id)] = run
        unfinished.add(run)


def run_finished(run):
    with runs_lock:
        unfinished.discard(run)


def current_run(dbname, thread_id):
    with runs_lock:
        return runs.get((dbname, thread_id))


def cancel_local(dbname, thread_id, reason):
    run = current_run(dbname, thread_id)
    if run and not run.ended:
        run.request_stop(reason)


def client_disconnected(sock):
    """Whether the peer closed ``sock``: it polls readable and a peek reads end-of-file.
    Never blocks; a TLS socket (no MSG_PEEK) reports False and relies on failed writes."""
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except ValueError:
        return False
    except OSError:
        return True
