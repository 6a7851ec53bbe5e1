"""sql_query against the real PostgreSQL: each way out of its read-only query found so far
(issue 11) fails, and nothing is written, leaked or left behind.

The tool connects on its own as the reader role (the harness creates it and names it in the
Odoo configuration), so it sees committed data only, never this test's transaction: what it
must not change is committed data (the admin's partner), checked from here afterwards."""

import json
import os
import tempfile
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import config

from ..models import llm_tool_sql
from ..models.llm_tool_registry import ToolError
from .test_tools import ToolCase

WRITE = "UPDATE res_partner SET name = 'pwned' WHERE id = %d"


@tagged("post_install", "-at_install")
class TestSqlTool(ToolCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin_partner = cls.env.ref("base.partner_admin")
        cls.admin_name = cls.admin_partner.name

    def sql(self, query, user=None):
        return self.run_tool("sql_query", user or self.manager, query=query)

    def assertRefused(self, query, message=""):
        with self.subTest(query=query), self.assertRaisesRegex(ToolError, message):
            self.sql(query)

    def assertNothingWritten(self):
        self.env.cr.execute("SELECT name FROM res_partner WHERE id = %s",
                            [self.admin_partner.id])
        self.assertEqual(self.env.cr.fetchone()[0], self.admin_name)
        self.env.cr.execute("SELECT to_regclass('llm_sql_escape')")
        self.assertIsNone(self.env.cr.fetchone()[0])

    def test_select_returns_columns_and_rows(self):
        result = self.sql("SELECT login FROM res_users WHERE login = 'admin';")
        self.assertEqual(result, {"columns": ["login"], "rows": [["admin"]], "truncated": False})
        with_cte = self.sql("WITH u AS (SELECT 1 AS one) SELECT one FROM u -- a ; comment")
        self.assertEqual(with_cte["rows"], [[1]])
        text = self.sql("SELECT 'it''s; not -- a comment, 100%' AS t, E'\\'; no' AS e")
        self.assertEqual(text["rows"], [["it's; not -- a comment, 100%", "'; no"]])
        named = self.sql('SELECT 1 AS "delete", 2 AS "set_config"')
        self.assertEqual(named["columns"], ["delete", "set_config"])
        self.assertEqual(self.sql("VALUES (1), (2)")["rows"], [[1], [2]])

    def test_one_statement_whatever_the_comments_and_quotes(self):
        # Each hid the ';' from the old lexer but not from PostgreSQL, which ran the rest.
        escape = "; COMMIT; %s; CREATE TABLE llm_sql_escape (id int); SET statement_timeout = 0" \
            % (WRITE % self.admin_partner.id)
        for query in [
            "SELECT 1" + escape,
            "SELECT 1 -- a comment ended by a carriage return\r" + escape,
            "SELECT 1 AS a$$" + escape + " -- $$",
            "SELECT $a1$ $$ $a1$ AS x" + escape + " -- $$",
            "SELECT $é$ $$ $é$ AS x" + escape + " -- $$",
            "SELECT E'\\'' " + escape + " --'",
            "SELECT 1 /* /* */ */" + escape,
        ]:
            self.assertRefused(query, "multiple commands")
        self.assertNothingWritten()

    def test_only_a_query_runs(self):
        marker = os.path.join(tempfile.gettempdir(), "llm_sql_escape_%d" % os.getpid())
        for query in [
            "SET statement_timeout = 0",
            "COPY (SELECT 1) TO PROGRAM 'touch %s'" % marker,
            "COPY res_partner TO STDOUT",
            WRITE % self.admin_partner.id,
            "%s RETURNING id" % (WRITE % self.admin_partner.id),
            "WITH u AS (%s RETURNING id) SELECT * FROM u" % (WRITE % self.admin_partner.id),
            "SELECT 1 AS id INTO llm_sql_escape",
            "CREATE TABLE llm_sql_escape (id int)",
            "COMMIT",
            "BEGIN",
            "SELECT id FROM res_partner FOR UPDATE",
            "SELECT nextval('res_partner_id_seq')",
        ]:
            self.assertRefused(query)
        self.assertFalse(os.path.exists(marker))
        self.assertNothingWritten()

    def test_functions_running_query_text_change_nothing(self):
        for query in [
            "SELECT * FROM ts_stat('SELECT pg_read_file(''/etc/passwd'')::tsvector')",
            "SELECT * FROM ts_rewrite('a'::tsquery, "
            "'SELECT ''a''::tsquery, lo_import(''/etc/passwd'')::text::tsquery')",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT lo_import('/etc/passwd')",
            "SELECT * FROM ts_stat('%s RETURNING ''x''::tsvector')"
            % (WRITE % self.admin_partner.id).replace("'", "''"),
        ]:
            self.assertRefused(query, "permission denied|read-only")
        self.assertNothingWritten()
        # These run, and are undone when the tool's connection closes after the query.
        self.env["ir.config_parameter"].sudo().set_param("llm_thread.sql_timeout_ms", "300")
        self.sql("SELECT * FROM ts_stat("
                 "'SELECT set_config(''statement_timeout'', ''0'', false)::tsvector')")
        self.sql("SELECT set_config('statement_timeout', '0', false), lo_from_bytea(0, 'x')")
        with self.assertRaisesRegex(ToolError, "cancelled after 300 ms"):
            self.sql("SELECT pg_sleep(30)")
        self.env.cr.execute("SELECT count(*) FROM pg_largeobject_metadata")
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        for query in ["SELECT pg_advisory_lock(4711)",
                      "SELECT * FROM ts_stat('SELECT pg_advisory_lock(4712)::text::tsvector')"]:
            self.sql(query)
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(4711), "
                            "pg_try_advisory_xact_lock(4712)")
        self.assertEqual(self.env.cr.fetchone(), (True, True))

    def test_secrets_are_not_readable(self):
        self.env.cr.execute("SELECT to_regclass('auth_totp_device') IS NOT NULL")
        secrets = ["SELECT password FROM res_users", "SELECT * FROM res_users",
                   "SELECT value FROM ir_config_parameter", "SELECT key FROM res_users_apikeys",
                   "SELECT api_key FROM llm_provider", "SELECT extra_headers FROM llm_provider",
                   "SELECT uuid FROM discuss_channel",
                   "SELECT * FROM ts_stat('SELECT value::tsvector FROM ir_config_parameter')"]
        if self.env.cr.fetchone()[0]:
            secrets += ["SELECT totp_secret FROM res_users", "SELECT key FROM auth_totp_device"]
        for query in secrets:
            self.assertRefused(query, "permission denied.*never secrets")
        self.assertEqual(self.sql("SELECT count(name) FROM llm_provider")["columns"], ["count"])
        role = self.sql("SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, "
                        "(SELECT count(*) FROM pg_class WHERE relowner = r.oid), "
                        "(SELECT count(*) FROM pg_auth_members WHERE member = r.oid) "
                        "FROM pg_roles r WHERE rolname = current_user")
        self.assertEqual(role["rows"], [["llm_sql_reader", False, False, False, False, 0, 0]])
        self.assertEqual(llm_tool_sql.SECRET_COLUMN.search("input_tokens"), None)

    def test_wizards_and_fields_kept_for_administrators_are_not_readable(self):
        """A wizard keeps what its user typed or was shown: the TOTP setup wizard's url and
        QR code carry the secret of the user's second factor until it is enabled (forever in
        an abandoned one; the security review read it, then logged in with it)."""
        self.env.cr.execute("SELECT to_regclass('auth_totp_wizard') IS NOT NULL")
        wizards = ["SELECT id FROM base_partner_merge_automatic_wizard",
                   "SELECT partner_id FROM mail_compose_message_res_partner_rel",
                   "SELECT id FROM llm_knowledge_search_wizard"]
        if self.env.cr.fetchone()[0]:
            wizards += ["SELECT url FROM auth_totp_wizard", "SELECT qrcode FROM auth_totp_wizard"]
        for query in wizards + [
            "SELECT code FROM ir_act_server",  # groups="base.group_system"
            "SELECT smtp_user FROM ir_mail_server",
            "SELECT signup_type FROM res_partner",  # groups="base.group_erp_manager"
        ]:
            self.assertRefused(query, "permission denied.*never secrets")
        self.assertEqual(self.sql("SELECT count(name) FROM ir_act_server")["columns"], ["count"])

    def test_grants_follow_the_tables(self):
        # In this test's transaction: what a later update of llm_thread grants and revokes.
        cr = self.env.cr
        cr.execute("CREATE TABLE llm_sql_new (id int, name varchar, smtp_pass varchar)")
        cr.execute("GRANT SELECT ON ir_config_parameter, res_users_identitycheck, "
                   "ir_act_server TO llm_sql_reader")
        privileges = """
            SELECT has_column_privilege('llm_sql_reader', 'llm_sql_new', 'name', 'SELECT'),
                   has_column_privilege('llm_sql_reader', 'llm_sql_new', 'smtp_pass', 'SELECT'),
                   has_table_privilege('llm_sql_reader', 'res_country', 'SELECT'),
                   has_table_privilege('llm_sql_reader', 'res_country', 'UPDATE'),
                   has_table_privilege('llm_sql_reader', 'ir_config_parameter', 'SELECT'),
                   has_table_privilege('llm_sql_reader', 'res_users_identitycheck', 'SELECT'),
                   has_column_privilege('llm_sql_reader', 'ir_act_server', 'code', 'SELECT'),
                   has_column_privilege('llm_sql_reader', 'ir_act_server', 'name', 'SELECT')
        """
        # Granted at the end of the loading of the modules, when llm_thread was installed or
        # updated; not when a loaded registry is set up again.
        with patch.object(self.registry, "updated_modules", ["llm_thread"]):
            self.env["llm.tool"]._register_hook()
            cr.execute(privileges)
            self.assertEqual(cr.fetchone()[5], True, "nothing granted")
            with patch.object(self.registry, "ready", False):
                self.env["llm.tool"]._register_hook()
        cr.execute(privileges)
        self.assertEqual(cr.fetchone(), (True, False, True, False, False, False, False, True))

    def test_readme_gives_the_exact_sql_creating_the_role(self):
        root = os.path.dirname(os.path.dirname(__file__))
        with open(os.path.join(root, "security", "llm_sql_reader.sql"), encoding="utf-8") as sql, \
                open(os.path.join(root, "README.md"), encoding="utf-8") as readme:
            self.assertIn("```sql\n%s" % sql.read(), readme.read())

    def test_without_the_role_the_tool_says_it_is_not_set_up(self):
        for user in [None, "llm_sql_nobody"]:
            with self.subTest(user=user), patch.dict(config.options, {"llm_sql_user": user}), \
                    self.assertRaisesRegex(ToolError, "not set up.*administrator"):
                self.sql("SELECT 1")

    def test_timeout_row_cap_and_size_cap(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("llm_thread.sql_timeout_ms", "200")
        params.set_param("llm_thread.sql_max_rows", "50")
        with self.assertRaisesRegex(ToolError, "cancelled after 200 ms"):
            self.sql("SELECT pg_sleep(30)")
        # Each row is fetched by a statement of its own, faster than the timeout: the time
        # counts for them all.
        with self.assertRaisesRegex(ToolError, "cancelled after 200 ms"):
            self.sql("SELECT pg_sleep(0.15) FROM generate_series(1, 10)")
        rows = self.sql("SELECT generate_series(1, 1000) AS n")
        self.assertEqual(len(rows["rows"]), 50)
        self.assertTrue(rows["truncated"])
        big = self.sql("SELECT repeat('x', 2000) FROM generate_series(1, 50)")
        self.assertLessEqual(len(json.dumps(big)), llm_tool_sql.MAX_CHARS)
        self.assertTrue(big["truncated"])
        self.assertTrue(big["rows"])

    def test_huge_values_are_cut_and_rows_fetched_one_at_a_time(self):
        """Rows are fetched one at a time until the answer is full: no further row is
        computed (here, a row past the ones that fit would sleep past the timeout). Fetching
        every row first, eight rows of 60 MB took Odoo's memory from 163 MB to 666 MB."""
        self.env["ir.config_parameter"].sudo().set_param("llm_thread.sql_timeout_ms", "2000")
        fitting = llm_tool_sql.MAX_CHARS // llm_tool_sql.MAX_VALUE_CHARS
        result = self.sql(
            "SELECT n, CASE WHEN n <= %d THEN repeat('x', 1000000) ELSE pg_sleep(30)::text END "
            "AS big FROM generate_series(1, 50) n" % (fitting + 1))
        cut = "x" * llm_tool_sql.MAX_VALUE_CHARS + "…"
        self.assertEqual(result["rows"], [[n, cut] for n in range(1, fitting + 1)])
        self.assertTrue(result["truncated"])
        self.assertEqual(result["note"], (
            "Only the first rows fit in this answer (at most 200 rows, 15000 characters): "
            "filter, aggregate, or select fewer columns. Values longer than 4000 characters are "
            "cut, ending with \"…\": select a part of them (left, substring) to read the rest."))
        self.assertLessEqual(len(json.dumps(result)), llm_tool_sql.MAX_CHARS)
        wide = self.sql("SELECT ARRAY[repeat('y', 5000)] AS a, decode(repeat('00', 5000), 'hex') "
                        "AS b, 'short' AS c")
        self.assertEqual([len(value) for value in wide["rows"][0][:2]],
                         [llm_tool_sql.MAX_VALUE_CHARS + 1] * 2)
        self.assertEqual(wide["rows"][0][2], "short")
        self.assertFalse(wide["truncated"])
        self.assertIn("Values longer than 4000 characters are cut", wide["note"])

    def test_managers_only_by_default(self):
        thread = self.env["llm.thread"].with_user(self.restricted).create({"name": "t"})
        thread.sudo().tool_names = ["sql_query"]
        with self.assertRaises(AccessError):
            self.tool("sql_query", self.restricted)._llm_execute({"query": "SELECT 1"}, thread, "c")
