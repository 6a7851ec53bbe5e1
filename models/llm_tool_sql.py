"""The read-only SQL query tool (managers only by default: SQL reads past record rules).

Layers, each enough on its own for most attacks, together for the rest:

1. The text is checked: one statement, starting with SELECT or WITH, no data-modifying
   keyword (also inside a CTE), no locking clause (FOR UPDATE / SHARE), no function with side
   effects we know of (set_config, advisory locks, file and large-object access, signals...).
   Checked on the text with string literals, quoted identifiers and comments blanked out, so
   neither hides nor fakes a keyword.
2. It runs on a connection of its own (never the caller's transaction) in a transaction
   started ``READ ONLY``: PostgreSQL itself refuses any write, DDL, ``nextval``...
3. ``SET LOCAL statement_timeout`` cuts long queries (``pg_sleep``, huge joins); at most
   ``max_rows`` rows are fetched, and the JSON returned is cut to ``max_chars``.
4. The transaction is always rolled back.
"""

import json
import re

import psycopg2

from odoo import api, models, sql_db

from .llm_tool_registry import ToolError, llm_tool

DEFAULT_TIMEOUT_MS = 5000
DEFAULT_MAX_ROWS = 200
MAX_CHARS = 15_000

# Blanked before checking: comments, string literals (also E'' and $tag$ quoting), quoted
# identifiers. A quoted identifier named "delete" is then not mistaken for DELETE. Where this
# lexer and PostgreSQL's could disagree, this one must see MORE than PostgreSQL, never less
# (a hidden ';' would smuggle a second statement, e.g. COMMIT then a write): E'' strings end
# where PostgreSQL ends them (backslash escapes), and only when the E starts a token
# (abcE'\' is an identifier then a plain string); a nested /* comment */ ends early here,
# which only shows more.
_NOISE = re.compile(r"""
      --[^\n]*
    | /\*.*?\*/
    | (?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'
    | '(?:[^']|'')*'
    | \$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$
    | "(?:[^"]|"")*"
""", re.VERBOSE | re.DOTALL)
# Statements that write or act, also as data-modifying CTEs, and transaction or session
# control (COMMIT would end the read-only transaction, SET lift the timeout) should a second
# statement ever get past the ';' check. Other statements can only start a query, which the
# first-keyword check refuses.
_FORBIDDEN_KEYWORDS = re.compile(r"""\b(
    INSERT | UPDATE | DELETE | MERGE | TRUNCATE | INTO | CREATE | ALTER | DROP | GRANT
    | REVOKE | COPY | CALL | LOCK | VACUUM | NOTIFY | LISTEN | PREPARE | EXECUTE
    | COMMIT | ROLLBACK | ABORT | SAVEPOINT | SET | RESET
)\b""", re.VERBOSE | re.IGNORECASE)
# A quoted identifier names what its content names: "set_config"(...) calls set_config. The
# function check reads identifiers unquoted; U&"..." (escapes inside the name) is refused.
_UNICODE_ESCAPED = re.compile(r"(?<![\w$])U&\s", re.IGNORECASE)
_LOCKING = re.compile(r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)
# Functions with side effects or that reach outside the database, by name prefix.
_FORBIDDEN_FUNCTIONS = re.compile(r"""\b(
    set_config | pg_advisory\w* | pg_try_advisory\w* | pg_cancel_backend | pg_terminate_backend
    | pg_reload_conf | pg_rotate_logfile\w* | pg_switch_wal | pg_create\w* | pg_drop\w*
    | pg_promote | pg_read_file | pg_read_binary_file | pg_ls_\w+ | pg_stat_file
    | pg_stat_reset\w* | pg_notify | pg_logical\w* | pg_replication\w* | pg_file_\w+
    | pg_import_system_collations | lo_\w+ | dblink\w* | nextval | setval | txid_current
    | pg_current_xact_id | query_to_xml\w* | table_to_xml\w* | cursor_to_xml\w*
    | database_to_xml\w* | schema_to_xml\w*
)\s*\(""", re.VERBOSE | re.IGNORECASE)


def check_select(env, query):
    """The query, stripped of a trailing ';', or ToolError saying why it is refused."""
    if not isinstance(query, str) or not query.strip():
        raise ToolError(env._("Give one SELECT query."))
    bare = _NOISE.sub(" ", query).strip()
    # The same, with quoted identifiers unquoted instead of blanked (for function names).
    names = _NOISE.sub(lambda match: " %s " % match.group(0)[1:-1].replace('""', '"')
                       if match.group(0).startswith('"') else " ", query)
    if bare.endswith(";"):
        bare = bare[:-1].rstrip()
        query = query.rstrip().rstrip(";")
    if ";" in bare:
        raise ToolError(env._("Only one statement is allowed: remove the ';'."))
    if not re.match(r"(SELECT|WITH)\b", bare, re.IGNORECASE) \
            and not re.match(r"\(\s*SELECT\b", bare, re.IGNORECASE):
        raise ToolError(env._("Only SELECT queries are allowed."))
    if _LOCKING.search(bare):
        raise ToolError(env._("Locking clauses (FOR UPDATE, FOR SHARE) are refused."))
    keyword = _FORBIDDEN_KEYWORDS.search(bare)
    if keyword:
        raise ToolError(env._("Only reading SELECT queries are allowed; %s is refused.",
                              keyword.group(1).upper()))
    if _UNICODE_ESCAPED.search(bare):
        raise ToolError(env._("Unicode-escaped names and strings (U&\"...\") are refused."))
    function = _FORBIDDEN_FUNCTIONS.search(names)
    if function:
        raise ToolError(env._("The function %s is refused: it has side effects.",
                              function.group(1)))
    return query


class LlmToolSql(models.Model):
    _inherit = "llm.tool"

    @api.model
    @llm_tool("Run one read-only SQL SELECT on the Odoo PostgreSQL database (past access "
              "rules: managers only). Returns the columns and at most a few hundred rows.",
              {"type": "object", "properties": {"query": {"type": "string"}},
               "required": ["query"]})
    def _llm_tool_sql_query(self, query):
        query = check_select(self.env, query)
        params = self.env["ir.config_parameter"].sudo()
        timeout = int(params.get_param("llm_thread.sql_timeout_ms") or DEFAULT_TIMEOUT_MS)
        max_rows = int(params.get_param("llm_thread.sql_max_rows") or DEFAULT_MAX_ROWS)
        # A connection of its own: never the caller's transaction, never its writes.
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            try:
                cr.execute("SET TRANSACTION READ ONLY")
                cr.execute("SET LOCAL statement_timeout = %s", (timeout,))
                # Plain '' strings without backslash escapes, as check_select lexes them.
                cr.execute("SET LOCAL standard_conforming_strings = on")
                cr.execute(query, log_exceptions=False)
                columns = [column.name for column in cr.description or ()]
                rows = cr.fetchmany(max_rows + 1)
            except psycopg2.errors.QueryCanceled:
                raise ToolError(self.env._(
                    "The query was cancelled after %s ms; make it cheaper (filters, LIMIT).",
                    timeout)) from None
            except psycopg2.Error as exc:
                raise ToolError(self.env._("The query failed: %s",
                                           (exc.pgerror or str(exc)).strip())) from None
            finally:
                cr.rollback()
        result = {"columns": columns, "rows": [list(row) for row in rows[:max_rows]],
                  "truncated": len(rows) > max_rows}
        # Cut whole rows until the JSON fits: the model gets valid data, and knows it was cut.
        while result["rows"] and len(json.dumps(result, default=str)) > MAX_CHARS:
            result["rows"] = result["rows"][:len(result["rows"]) * 3 // 4]
            result["truncated"] = True
        return result
