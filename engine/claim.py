"""The persisted claim over a thread's generation, and how a dead owner is recognised.

The "lock" over a whole generation is a persisted claim (state, owner, token) taken under a
transaction-scoped advisory lock ``(LOCK_NAMESPACE, thread id)``; see ``llm.thread._llm_claim``.
The owner is the backend pid of a per-process liveness connection holding a session advisory
lock, so any process can tell at once that the owner of a claim died (its lock is gone),
without a heartbeat timeout; a heartbeat older than ``STALE_AFTER`` also frees a claim whose
process is alive but lost track of it.
"""

import os
import threading
from datetime import timedelta

import psycopg2

from odoo import fields, sql_db

LOCK_NAMESPACE = 0x4C4C4D54  # "LLMT": advisory-lock keys of llm.thread claims
LIVENESS_NAMESPACE = 0x4C4C4D50  # "LLMP": one key per live process running generations
STALE_AFTER = timedelta(seconds=120)


def try_lock(cr, thread_id):
    """Take the advisory lock of a thread's claim until the end of the transaction; False when
    another transaction holds it."""
    cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, thread_id))
    return cr.fetchone()[0]


class Liveness:
    """One autocommit connection per process and database, holding the session advisory
    lock ``(LIVENESS_NAMESPACE, its backend pid)`` for as long as the process lives."""

    _lock = threading.Lock()
    _connections = {}  # dbname -> (os pid, connection, backend pid)

    @classmethod
    def owner_key(cls, registry):
        with cls._lock:
            entry = cls._connections.get(registry.db_name)
            if entry and entry[0] == os.getpid() and not entry[1].closed:
                return entry[2]
            _dbname, info = sql_db.connection_info_for(registry.db_name)
            connection = psycopg2.connect(**info)
            connection.autocommit = True
            with connection.cursor() as cr:
                cr.execute("SELECT pg_backend_pid()")
                backend_pid = cr.fetchone()[0]
                cr.execute("SELECT pg_advisory_lock(%s, %s)", (LIVENESS_NAMESPACE, backend_pid))
            cls._connections[registry.db_name] = (os.getpid(), connection, backend_pid)
            return backend_pid

    @classmethod
    def connection(cls, registry):
        """(backend pid, connection) of this process's liveness connection to the database,
        made if needed; the hub listens on it (:mod:`.hub`)."""
        backend_pid = cls.owner_key(registry)
        with cls._lock:
            return backend_pid, cls._connections[registry.db_name][1]


def claim_is_stale(cr, owner, heartbeat):
    """Whether a generating claim may be taken over: its heartbeat is too old, or the process
    that made it is gone (nobody holds its liveness lock any more)."""
    if not owner or not heartbeat or fields.Datetime.now() - heartbeat > STALE_AFTER:
        return True
    return not owner_alive(cr, owner)


def owner_alive(cr, owner):
    """Whether the process whose liveness connection has backend pid ``owner`` lives."""
    cr.execute("""
        SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s
           AND objsubid = 2
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """, (LIVENESS_NAMESPACE, owner))
    return bool(cr.fetchone())
