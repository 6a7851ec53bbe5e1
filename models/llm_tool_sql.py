"""The read-only SQL query tool (managers only by default: SQL reads past record rules).

Whoever controls the model's output (the provider, a prompt injection in any text the model
reads, a manager) controls the query, so nothing here parses it: PostgreSQL enforces each
limit on its own side.

1. One statement, a query: the text becomes the body of ``DECLARE ... CURSOR FOR <text>``,
   which psycopg 3's server-side cursor sends with the extended query protocol (the tests
   check it: a second statement is refused with PostgreSQL's own message). A Parse
   message holds one command ("cannot insert multiple commands into a prepared statement"),
   and DECLARE's grammar takes only SELECT, VALUES or TABLE, without data-modifying WITH,
   SELECT INTO, SET, COPY, CALL or any other statement; the cursor also lets the server stop
   at ``max_rows``. psycopg2, which Odoo uses, only speaks the simple protocol, where one
   string runs several statements; calling libpq's PQexecParams through ctypes would need our
   own result decoding. Hence psycopg 3 (Debian's python3-psycopg, or ``pip install
   psycopg``), for this connection only.
2. A role of its own (``llm_sql_user`` in the Odoo configuration file, see the README): not a
   superuser, owning nothing, granted SELECT on the business tables minus secrets (see
   ``_llm_sql_grant``): no write, no file, large-object or program access, no password, key,
   token, wizard or field kept for administrators. Without it configured the tool says it is
   not set up.
3. Its own connection, opened for one query and closed after it without a commit (its
   advisory locks released first): no write, lock or setting of the session survives it.
   Read-only mode and the timeouts are set by the connection's startup options (and the
   role's defaults), outside the query text.
4. Rows are fetched from the cursor one at a time, each value cut to ``MAX_VALUE_CHARS``,
   until ``max_rows`` rows or ``MAX_CHARS`` of JSON: Odoo never holds more than a row of a
   huge result (``_llm_sql_fetch``).
"""

import json
import logging
import re
import time

from odoo import api, fields, models
from odoo.tools import SQL, config

from .llm_tool_registry import ToolError, llm_tool

try:
    import psycopg
except ImportError:  # an optional dependency: only this tool needs it
    psycopg = None

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 5000
DEFAULT_MAX_ROWS = 200
MAX_CHARS = 15_000
# A value's share of the answer: a long text is read in part, and a few rows still fit.
MAX_VALUE_CHARS = 4000

# Never granted to the reader role: whole tables holding secrets (system parameters include
# database.secret; API keys and TOTP devices hold key hashes), and the tables of wizards
# (transient models, ``_llm_sql_hidden``), which keep what their users typed or were shown, as
# long as an abandoned wizard is kept: passwords, codes, the secret of a two-factor setup
# (auth_totp_wizard's url and qrcode) ...
SECRET_TABLES = {"ir_config_parameter", "res_users_apikeys", "auth_totp_device"}
# ... the columns of fields Odoo shows to administrators only, or to nobody (``groups=``: an
# SMTP server's user, a server action's code) ...
ADMIN_GROUPS = {"base.group_system", "base.group_erp_manager", fields.NO_ACCESS}
# ... and, in every other table, the columns named like a secret: passwords (password, smtp_pass,
# new_passwd, passcode), secrets (totp_secret, client_secret), tokens (access_token,
# refresh_token, not input_tokens), keys (api_key, smtp_ssl_private_key, push keys),
# credentials, authorization codes, session identifiers, headers (llm_provider's
# extra_headers carry keys) and uuids (a discuss channel's is the key of its invitation link).
# A module keeping a secret under another name, in a field not restricted to administrators,
# needs a line here.
SECRET_COLUMN = re.compile(r"""
      (^|_)( pass\w* | secret | token | credentials? | authorization_code | session_identifier
           | headers | keys | hmac\w* | uuid )(_|$)
    | _key$
""", re.VERBOSE)


class LlmToolSql(models.Model):
    _inherit = "llm.tool"

    @api.model
    @llm_tool("Run one read-only SQL query (SELECT, WITH ... SELECT, VALUES or TABLE) on the "
              "Odoo PostgreSQL database, past access rules (managers only). Secret columns "
              "(passwords, keys, tokens) cannot be read: name the columns instead of *. Returns "
              "the columns and at most a few hundred rows.",
              {"type": "object", "properties": {"query": {"type": "string"}},
               "required": ["query"]})
    def _llm_tool_sql_query(self, query):
        if not isinstance(query, str) or not query.strip():
            raise ToolError(self.env._("Give one SELECT query."))
        params = self.env["ir.config_parameter"].sudo()
        timeout = int(params.get_param("llm_thread.sql_timeout_ms") or DEFAULT_TIMEOUT_MS)
        max_rows = int(params.get_param("llm_thread.sql_max_rows") or DEFAULT_MAX_ROWS)
        connection = self._llm_sql_connect(timeout)
        try:
            cursor = connection.cursor(name="llm_sql_query")
            cursor.execute(query)
            columns = [column.name for column in cursor.description or ()]
            return self._llm_sql_fetch(cursor, columns, max_rows, timeout)
        except psycopg.errors.QueryCanceled:
            raise self._llm_sql_cancelled(timeout) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ToolError(self.env._(
                "The query was refused: %s. The SQL tool reads business tables only, never "
                "secrets (passwords, keys, tokens, system parameters, wizards, fields kept for "
                "administrators): name the columns you need instead of *. Tables added since "
                "llm_thread was last installed or updated become readable when it is updated "
                "again.", exc.diag.message_primary)) from None
        except psycopg.Error as exc:
            raise ToolError(self.env._(
                "The query failed: %s. The SQL tool runs exactly one read-only query "
                "(SELECT, WITH ... SELECT, VALUES or TABLE).",
                exc.diag.message_primary or str(exc))) from None
        finally:
            self._llm_sql_close(connection)

    @api.model
    def _llm_sql_cancelled(self, timeout):
        return ToolError(self.env._(
            "The query was cancelled after %s ms; make it cheaper (filters, LIMIT).", timeout))

    @api.model
    def _llm_sql_fetch(self, cursor, columns, max_rows, timeout):
        """The answer: ``{columns, rows, truncated}``, and a ``note`` when rows are left out
        (``truncated``) or values cut. Rows are fetched one at a time, each value cut to
        ``MAX_VALUE_CHARS``, and no more once ``max_rows`` or the answer's ``MAX_CHARS`` is
        reached: Odoo holds about one row of the query's result at a time, and the server
        computes no further row. Fetching ``max_rows`` at once, eight rows of 60 MB each took
        Odoo's memory from 150 MB to 664 MB (and 200 such rows, as much as the timeout
        allowed); one at a time, to 379 MB whatever their number (libpq's buffer and result,
        and psycopg's string, each hold the row once). 200 small rows take 0.2 s instead of
        0.04 s (a round trip each). Each fetch is a statement, cancelled after ``timeout``
        ms: the fetching stops once they took ``timeout`` ms in all (the query's time is thus
        at most twice ``timeout``)."""
        rows_note = self.env._(
            "Only the first rows fit in this answer (at most %(rows)s rows, %(chars)s "
            "characters): filter, aggregate, or select fewer columns.",
            rows=max_rows, chars=MAX_CHARS)
        values_note = self.env._(
            "Values longer than %s characters are cut, ending with \"…\": select a part of "
            "them (left, substring) to read the rest.", MAX_VALUE_CHARS)
        budget = MAX_CHARS - _json_length({"columns": columns, "rows": [], "truncated": True,
                                           "note": f"{rows_note} {values_note}"})
        rows, cut, truncated = [], False, False
        deadline = time.monotonic() + timeout / 1000
        while (row := cursor.fetchone()) is not None:
            if time.monotonic() > deadline:
                raise self._llm_sql_cancelled(timeout)
            values = [_cut(value) for value in row]
            budget -= _json_length(values) + 2  # the row and its separator
            if len(rows) == max_rows or budget < 0:
                truncated = True
                break
            rows.append(values)
            # _cut returns a value it keeps as it is.
            cut = cut or any(value is not kept for value, kept in zip(values, row))
            del row  # before the next fetch: one row held, not two
        result = {"columns": columns, "rows": rows, "truncated": truncated}
        if truncated or cut:
            result["note"] = " ".join(
                note for note, shown in ((rows_note, truncated), (values_note, cut)) if shown)
        return result

    @api.model
    def _llm_sql_connect(self, timeout):
        """A new read-only connection to this database as the reader role, or ToolError."""
        user = config.get("llm_sql_user")
        if psycopg is None or not user:
            raise ToolError(self.env._(
                "The SQL tool is not set up on this server: it needs %s. Ask an administrator "
                "(llm_thread README, \"sql_query\").",
                self.env._("the Python package psycopg (version 3)") if psycopg is None
                else self.env._("the llm_sql_user option in the Odoo configuration file")))
        # Set by the server at connection start, outside the query text; the role's own
        # defaults (README) say the same for anyone else logging in as it.
        options = ("-c default_transaction_read_only=on -c statement_timeout=%d "
                   "-c idle_in_transaction_session_timeout=%d" % (timeout, timeout))
        try:
            connection = psycopg.connect(
                dbname=self.env.cr.dbname, user=user,
                password=config.get("llm_sql_password") or None,
                host=config.get("db_host") or None, port=config.get("db_port") or None,
                sslmode=config.get("db_sslmode") or None, connect_timeout=10,
                application_name="odoo-llm_sql_query", options=options)
        except psycopg.Error as exc:
            _logger.info("sql_query cannot connect as %s: %s", user, exc)
            raise ToolError(self.env._(
                "The SQL tool is not set up on this server: it cannot connect to the database "
                "as %s. Ask an administrator (llm_thread README, \"sql_query\").",
                user)) from None
        connection.read_only = True  # BEGIN READ ONLY, on top of the server-side default
        return connection

    @api.model
    def _llm_sql_close(self, connection):
        """Roll back and close. The server process releases the session's advisory locks when
        it exits, which may be after we return: they are released here first, so no caller
        (a conversation's claim) ever waits on them."""
        try:
            connection.rollback()
            connection.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            pass  # the session is broken: it holds nothing any more
        finally:
            connection.close()  # never a commit: whatever the query did is undone

    def _register_hook(self):
        super()._register_hook()
        # At the end of each install and update of llm_thread, once every installed module's
        # models are loaded: the wizards and restricted fields of those loaded after
        # llm_thread (which a data file of llm_thread runs before) are hidden too. Not when a
        # loaded registry is set up again (a custom field added).
        if not self.pool.ready and "llm_thread" in self.pool.updated_modules:
            self._llm_sql_grant()

    @api.model
    def _llm_sql_grant(self):
        """Grant the reader role SELECT on this database's tables, minus the secrets.

        Run at the end of each install and update of llm_thread (``_register_hook``) by Odoo's
        own database role, which owns the tables. Starts from nothing each time, so a table or
        column that became secret is revoked too; tables created later by other modules stay
        unreadable until llm_thread is updated again. Without the role, nothing to do.
        """
        user = config.get("llm_sql_user")
        cr = self.env.cr
        if user:
            cr.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [user])
        if not user or not cr.rowcount:
            _logger.info("sql_query: no reader role configured, no grants made")
            return
        cr.execute("SELECT current_schema()")
        schema = SQL.identifier(cr.fetchone()[0])
        role = SQL.identifier(user)
        # Plain and partitioned tables only: a view runs with its owner's rights, so it could
        # show a secret column under another name.
        cr.execute("""
            SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
              FROM pg_class c
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
          GROUP BY c.relname
        """)
        hidden_tables, hidden_columns = self._llm_sql_hidden()
        statements = [SQL("REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s", schema, role)]
        for table, columns in cr.fetchall():
            readable = [column for column in columns if not SECRET_COLUMN.search(column)
                        and (table, column) not in hidden_columns]
            if table in SECRET_TABLES or table in hidden_tables or not readable:
                continue
            what = SQL() if len(readable) == len(columns) else SQL(
                "(%s)", SQL(", ").join(SQL.identifier(column) for column in readable))
            statements.append(SQL("GRANT SELECT %s ON %s TO %s",
                                  what, SQL.identifier(table), role))
        cr.execute(SQL("; ").join(statements))
        _logger.info("sql_query: %s may read %d tables", user, len(statements) - 1)

    @api.model
    def _llm_sql_hidden(self):
        """What the models loaded say is secret: ``(tables, {(table, column)})``, the tables
        of the wizards (with their many2many tables) and the columns of the fields restricted
        to ``ADMIN_GROUPS``."""
        tables, columns = set(), set()
        for model in self.env.registry.values():
            if model._abstract or not model._auto:
                continue
            if model._transient:
                tables.add(model._table)
            for field in model._fields.values():
                if not field.store:
                    continue
                if model._transient and field.type == "many2many":
                    tables.add(field.relation)
                elif field.column_type and field.groups and {
                        group.strip() for group in field.groups.split(",")} <= ADMIN_GROUPS:
                    columns.add((model._table, field.name))
        return tables, columns


def _json_length(value):
    return len(json.dumps(value, default=str))


def _cut(value):
    """``value``, or the start of its text when that is longer than ``MAX_VALUE_CHARS``."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, dict)):  # arrays, json
        text = json.dumps(value, default=str)
    else:  # bytea's start is enough to tell; its text (repr) is longer still
        text = str(value[:MAX_VALUE_CHARS + 1] if isinstance(value, bytes) else value)
    return value if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
