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
   ``_llm_sql_grant``): no write, no file, large-object or program access, no password, key or
   token. Without it configured the tool says it is not set up.
3. Its own connection, opened for one query and closed after it without a commit (its
   advisory locks released first): no write, lock or setting of the session survives it.
   Read-only mode and the timeouts are set by the connection's startup options (and the
   role's defaults), outside the query text.
4. At most ``max_rows`` rows are fetched from the cursor, and the JSON returned is cut to
   ``MAX_CHARS``.
"""

import json
import logging
import re

from odoo import api, models
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

# Never granted to the reader role: whole tables holding secrets (system parameters include
# database.secret; API keys and TOTP devices hold key hashes) ...
SECRET_TABLES = {"ir_config_parameter", "res_users_apikeys", "auth_totp_device"}
# ... and, in every other table, the columns named like a secret: passwords (password, smtp_pass,
# new_passwd, passcode), secrets (totp_secret, client_secret), tokens (access_token,
# refresh_token, not input_tokens), keys (api_key, smtp_ssl_private_key, push keys),
# credentials, authorization codes, session identifiers, headers (llm_provider's
# extra_headers carry keys) and uuids (a discuss channel's is the key of its invitation link).
# A module adding a secret under another name needs a line here.
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
            rows = cursor.fetchmany(max_rows + 1)
        except psycopg.errors.QueryCanceled:
            raise ToolError(self.env._(
                "The query was cancelled after %s ms; make it cheaper (filters, LIMIT).",
                timeout)) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ToolError(self.env._(
                "The query was refused: %s. The SQL tool reads business tables only, never "
                "secrets (passwords, keys, tokens, system parameters): name the columns you need "
                "instead of *. Tables added since llm_thread was last installed or updated become "
                "readable when it is updated again.", exc.diag.message_primary)) from None
        except psycopg.Error as exc:
            raise ToolError(self.env._(
                "The query failed: %s. The SQL tool runs exactly one read-only query "
                "(SELECT, WITH ... SELECT, VALUES or TABLE).",
                exc.diag.message_primary or str(exc))) from None
        finally:
            self._llm_sql_close(connection)
        result = {"columns": columns, "rows": [list(row) for row in rows[:max_rows]],
                  "truncated": len(rows) > max_rows}
        # Cut whole rows until the JSON fits: the model gets valid data, and knows it was cut.
        while result["rows"] and len(json.dumps(result, default=str)) > MAX_CHARS:
            result["rows"] = result["rows"][:len(result["rows"]) * 3 // 4]
            result["truncated"] = True
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

    @api.model
    def _llm_sql_grant(self):
        """Grant the reader role SELECT on this database's tables, minus the secrets.

        Run at each install and update of llm_thread (data/llm_tool_data.xml) by Odoo's own
        database role, which owns the tables. Starts from nothing each time, so a table or
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
        statements = [SQL("REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s", schema, role)]
        for table, columns in cr.fetchall():
            readable = [column for column in columns if not SECRET_COLUMN.search(column)]
            if table in SECRET_TABLES or not readable:
                continue
            what = SQL() if len(readable) == len(columns) else SQL(
                "(%s)", SQL(", ").join(SQL.identifier(column) for column in readable))
            statements.append(SQL("GRANT SELECT %s ON %s TO %s",
                                  what, SQL.identifier(table), role))
        cr.execute(SQL("; ").join(statements))
        _logger.info("sql_query: %s may read %d tables", user, len(statements) - 1)
