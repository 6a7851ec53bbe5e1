"""llm.tool: the records, who may enable and run them, the built-in tools through the real ORM
as restricted users (the SQL tool: test_tool_sql.py)."""

import json

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..models.llm_tool_registry import ToolError, llm_tool

BUILT_IN = ["search_records", "read_record", "count_records", "list_models", "list_fields",
            "create_record", "update_record", "delete_records", "sql_query"]


class ToolCase(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Employees read contacts but may not change them, nor read system parameters.
        cls.restricted = new_test_user(cls.env, login="llm_tool_restricted",
                                       groups="base.group_user")
        cls.editor = new_test_user(cls.env, login="llm_tool_editor",
                                   groups="base.group_user,base.group_partner_manager")
        cls.manager = new_test_user(cls.env, login="llm_tool_manager",
                                    groups="base.group_user,llm_thread.group_llm_manager")
        cls.partner = cls.env["res.partner"].create({"name": "Tool Partner", "city": "Namur"})
        cls.parameter = cls.env["ir.config_parameter"].create({"key": "llm.tool.secret",
                                                               "value": "42"})

    def tool(self, name, user):
        return self.env.ref(f"llm_thread.tool_{name}").with_user(user)

    def run_tool(self, name, user, **arguments):
        return self.tool(name, user)._llm_run(arguments)


@tagged("post_install", "-at_install")
class TestToolRecords(ToolCase):

    def test_built_in_tools_take_their_decorator_definition(self):
        tools = self.env["llm.tool"].search([("name", "in", BUILT_IN)])
        self.assertEqual(sorted(tools.mapped("name")), sorted(BUILT_IN))
        search = self.env.ref("llm_thread.tool_search_records")
        self.assertIn("Search records", search.description)
        self.assertEqual(json.loads(search.parameters)["required"], ["model"])
        self.assertEqual({t.name: t.requires_approval for t in tools if t.requires_approval},
                         {"create_record": True, "update_record": True, "delete_records": True})
        self.assertEqual(self.env.ref("llm_thread.tool_delete_records").risk, "destructive")
        self.assertEqual(self.env.ref("llm_thread.tool_sql_query").group_ids,
                         self.env.ref("llm_thread.group_llm_manager"))

    def test_enable_time_checks_groups_and_companies(self):
        Tool = self.env["llm.tool"]
        self.assertNotIn("sql_query", Tool.with_user(self.restricted)._llm_available().mapped("name"))
        self.assertIn("sql_query", Tool.with_user(self.manager)._llm_available().mapped("name"))
        thread = self.env["llm.thread"].with_user(self.restricted).create({"name": "t"})
        self.assertEqual(thread.tool_names, ["search_records", "read_record", "count_records",
                                             "list_models", "list_fields"],
                         "a new thread enables the read tools its user may use")
        with self.assertRaises(AccessError):
            thread.llm_update({"tool_names": ["search_records", "sql_query"]})
        with self.assertRaises(AccessError):
            thread.llm_update({"tool_names": ["no_such_tool"]})
        self.assertNotIn("sql_query", thread.tool_names)
        # A tool allowed in another company only is neither offered nor enabled here.
        other = self.env["res.company"].create({"name": "Tools Elsewhere"})
        self.env.ref("llm_thread.tool_list_models").company_ids = other
        self.assertNotIn("list_models", [o["name"] for o in
                                         Tool.with_user(self.restricted)._llm_ui_options()])
        with self.assertRaises(AccessError):
            thread.llm_update({"tool_names": ["list_models"]})

    def test_company_check_follows_the_current_company(self):
        """A user of two companies runs a tool allowed in one of them only while working in
        that one (the company switcher's current company)."""
        here, other = self.env.company, self.env["res.company"].create({"name": "Tools Abroad"})
        self.restricted.write({"company_ids": [(4, other.id)]})
        self.env.ref("llm_thread.tool_list_models").company_ids = other
        Tool = self.env["llm.tool"].with_user(self.restricted)

        def available(companies):  # the first one is the current company
            return Tool.with_context(allowed_company_ids=companies.ids)._llm_available()

        self.assertNotIn("list_models", available(here + other).mapped("name"))
        self.assertIn("list_models", available(other + here).mapped("name"))

    def test_execution_time_checks_groups_even_if_enabled(self):
        """A tool enabled before a manager restricted it no longer runs."""
        thread = self.env["llm.thread"].with_user(self.restricted).create({"name": "t"})
        tool = self.tool("count_records", self.restricted)
        self.assertEqual(tool._llm_execute({"model": "res.partner"}, thread, "c1")["count"],
                         self.env["res.partner"].with_user(self.restricted).search_count([]))
        tool.sudo().group_ids = self.env.ref("llm_thread.group_llm_manager")
        with self.assertRaises(AccessError):
            tool._llm_execute({"model": "res.partner"}, thread, "c2")
        sql = self.tool("sql_query", self.restricted)
        thread.sudo().tool_names = ["sql_query"]  # forced past the enable-time check
        with self.assertRaises(AccessError):
            sql._llm_execute({"query": "SELECT 1"}, thread, "c3")

    def test_managers_pick_python_methods_from_a_list(self):
        options = dict(self.env["llm.tool"]._selection_python_method())
        self.assertIn("llm.tool:_llm_tool_search_records", options)
        self.assertNotIn("res.partner:unlink", options)
        self.assertEqual(self.env.ref("llm_thread.tool_sql_query").python_method,
                         "llm.tool:_llm_tool_sql_query")
        with Form(self.env["llm.tool"].with_user(self.manager)) as form:
            form.name = "count_again"
            form.python_method = "llm.tool:_llm_tool_count_records"
            form.risk = "read"
        tool = form.record
        self.assertEqual((tool.method_model, tool.method_name),
                         ("llm.tool", "_llm_tool_count_records"))
        self.assertIn("Count records", tool.description, "the decorator's description")
        self.assertEqual(json.loads(tool.parameters)["required"], ["model"])

    def test_definition_is_validated(self):
        Tool = self.env["llm.tool"]
        with self.assertRaises(ValidationError):
            Tool.create({"name": "bad name!", "method_model": "llm.tool",
                         "method_name": "_llm_tool_read_record"})
        with self.assertRaises(ValidationError):
            Tool.create({"name": "not_json", "description": "x", "parameters": "{nope",
                         "method_model": "llm.tool", "method_name": "_llm_tool_read_record"})
        with self.assertRaises(ValidationError, msg="only decorated methods can be tools"):
            Tool.create({"name": "unlink_partners", "description": "x",
                         "parameters": '{"type": "object"}', "method_model": "res.partner",
                         "method_name": "unlink"})
        with self.assertRaises(ValidationError):
            Tool.create({"name": "no_action", "description": "x", "implementation": "server_action",
                         "parameters": '{"type": "object"}'})
        with self.assertRaises(ValueError, msg="a public method would be reachable over RPC"):
            llm_tool("x", {"type": "object"})(lambda self: None)

    def test_server_action_tool_runs_as_the_user(self):
        action = self.env["ir.actions.server"].create({
            "name": "Tag partners", "model_id": self.env.ref("base.model_res_partner").id,
            "state": "code",
            "code": "records.write({'comment': env.context['llm_tool_arguments']['note']})\n"
                    "action = {'tagged': len(records)}",
        })
        tool = self.env["llm.tool"].create({
            "name": "tag_partners", "description": "Tag partners", "implementation": "server_action",
            "server_action_id": action.id, "risk": "write",
            "parameters": '{"type": "object", "properties": {"ids": {"type": "array"}, '
                          '"note": {"type": "string"}}}'})
        self.assertTrue(tool.requires_approval)
        preview = tool.with_user(self.editor)._llm_preview({"ids": [self.partner.id], "note": "VIP"})
        self.assertEqual((preview["model"], preview["records"], preview["changes"]),
                         ("Contact", ["Tool Partner"], [{"field": "note", "old": None, "new": "VIP"}]))
        result = tool.with_user(self.editor)._llm_run({"ids": [self.partner.id], "note": "VIP"})
        self.assertEqual(result, {"tagged": 1})
        self.assertIn("VIP", self.partner.comment)
        with self.assertRaises(AccessError), mute_logger("odoo.addons.base.models.ir_actions"):
            tool.with_user(self.restricted)._llm_run({"ids": [self.partner.id], "note": "no"})
        self.assertNotIn("no", self.partner.comment)


@tagged("post_install", "-at_install")
class TestBuiltinTools(ToolCase):
    """Each tool through the real ORM as a user without the right: an error, nothing written;
    and the same tool working for a user who has it."""

    def test_read_tools_refuse_unreadable_models(self):
        for name, arguments in [
            ("search_records", {"model": "ir.config_parameter", "fields": ["value"]}),
            ("read_record", {"model": "ir.config_parameter", "id": self.parameter.id}),
            ("count_records", {"model": "ir.config_parameter"}),
            ("count_records", {"model": "ir.config_parameter", "groupby": ["key"]}),
            ("list_fields", {"model": "ir.config_parameter"}),
        ]:
            with self.subTest(tool=name, arguments=arguments), self.assertRaises(AccessError):
                self.run_tool(name, self.restricted, **arguments)
        models = {m["model"] for m in self.run_tool("list_models", self.restricted,
                                                    search="parameter")}
        self.assertNotIn("ir.config_parameter", models)

    def test_read_tools_work_within_the_users_rights(self):
        found = self.run_tool("search_records", self.restricted, model="res.partner",
                              domain=[["name", "=", "Tool Partner"]], fields=["city"])
        self.assertEqual(found, [{"id": self.partner.id, "city": "Namur"}])
        record = self.run_tool("read_record", self.restricted, model="res.partner",
                               id=self.partner.id, fields=["name"])
        self.assertEqual(record["name"], "Tool Partner")
        grouped = self.run_tool("count_records", self.restricted, model="res.partner",
                                domain=[["name", "=", "Tool Partner"]], groupby=["city"])
        self.assertEqual(grouped, [{"city": "Namur", "count": 1}])
        self.assertIn({"model": "res.partner", "name": "Contact"},
                      self.run_tool("list_models", self.restricted, search="res.partner"))
        fields = self.run_tool("list_fields", self.restricted, model="res.partner")
        self.assertEqual(fields["city"]["type"], "char")
        with self.assertRaises(ToolError):
            self.run_tool("read_record", self.restricted, model="res.partner", id=self.partner.id,
                          fields=["no_such_field"])
        with self.assertRaises(ToolError):
            self.run_tool("search_records", self.restricted, model="no.such.model")

    def test_a_domain_on_an_unsearchable_field_is_refused(self):
        """Odoo would drop the condition, log an error and count every record."""
        for name, arguments in [
            ("count_records", {"model": "res.users",
                               "domain": [["password", "=like", "$pbkdf2%"]]}),
            ("search_records", {"model": "res.partner",
                                "domain": [["user_ids.password", "!=", False]]}),
        ]:
            with self.subTest(tool=name), self.assertRaisesRegex(
                    ToolError, r"filters on Password \(res.users.password\), which cannot be "
                               r"searched"):
                self.run_tool(name, self.restricted, **arguments)

    def test_write_tools_refused_without_rights_write_nothing(self):
        Partner = self.env["res.partner"]
        before = Partner.search_count([])
        with self.assertRaises(AccessError):
            self.run_tool("create_record", self.restricted, model="res.partner",
                          values={"name": "Intruder"})
        with self.assertRaises(AccessError):
            self.run_tool("update_record", self.restricted, model="res.partner",
                          id=self.partner.id, values={"name": "Hijacked"})
        with self.assertRaises(AccessError):
            self.run_tool("delete_records", self.restricted, model="res.partner",
                          ids=[self.partner.id])
        with self.assertRaises(AccessError):
            self.run_tool("create_record", self.restricted, model="ir.config_parameter",
                          values={"key": "llm.hijack", "value": "1"})
        self.env.invalidate_all()
        self.assertEqual(Partner.search_count([]), before)
        self.assertEqual(self.partner.name, "Tool Partner")
        self.assertFalse(self.env["ir.config_parameter"].sudo().get_param("llm.hijack"))

    def test_write_tools_work_within_the_users_rights(self):
        created = self.run_tool("create_record", self.editor, model="res.partner",
                                values={"name": "New Tool Contact"})
        new = self.env["res.partner"].browse(created["id"])
        self.assertEqual(new.name, "New Tool Contact")
        self.run_tool("update_record", self.editor, model="res.partner", id=new.id,
                      values={"city": "Gent"})
        self.assertEqual(new.city, "Gent")
        self.assertEqual(self.run_tool("delete_records", self.editor, model="res.partner",
                                       ids=[new.id]), {"deleted": True, "ids": [new.id]})
        self.assertFalse(new.exists())
        with self.assertRaises(ValidationError, msg="constraints are tool errors too"):
            self.run_tool("update_record", self.editor, model="res.partner", id=self.partner.id,
                          values={"parent_id": self.partner.id})
        with self.assertRaises(ToolError):
            self.run_tool("delete_records", self.editor, model="res.partner", ids=[0])

    def test_preview_shows_names_and_old_to_new_values(self):
        preview = self.tool("update_record", self.restricted)._llm_preview(
            {"model": "res.partner", "id": self.partner.id,
             "values": {"city": "Liège", "country_id": self.env.ref("base.be").id}})
        self.assertEqual(preview["model"], "Contact")
        self.assertEqual(preview["records"], ["Tool Partner"])
        self.assertEqual(preview["changes"], [
            {"field": "City", "old": "Namur", "new": "Liège"},
            {"field": "Country", "old": "", "new": "Belgium"},
        ])

        # What the user may not read is left out of the preview; it never fails.
        self.env.invalidate_all()  # as in the generation's own transaction: nothing cached
        hidden = self.tool("update_record", self.restricted)._llm_preview(
            {"model": "ir.config_parameter", "id": self.parameter.id, "values": {"value": "0"}})
        self.assertEqual(hidden["records"], [f"System Parameter #{self.parameter.id}"])
        self.assertEqual(hidden["changes"], [{"field": "Value", "old": None, "new": "0"}])
        odd = self.tool("delete_records", self.restricted)._llm_preview(
            {"model": "res.partner", "ids": self.partner.id})
        self.assertEqual(odd["records"], [])

    def test_preview_names_what_relation_commands_do(self):
        vip, new = self.env["res.partner.category"].create([{"name": "VIP"}, {"name": "New"}])
        self.partner.category_id = new
        tool = self.tool("update_record", self.editor)
        for commands, shown in [
            ([[4, vip.id], [3, new.id]], "+ VIP, − New"),
            ([[6, 0, [vip.id]]], "VIP"),
            ([[5]], "none"),
            ([[0, 0, {"name": "Gold"}]], "+ a new record"),
        ]:
            with self.subTest(commands=commands):
                preview = tool._llm_preview({"model": "res.partner", "id": self.partner.id,
                                             "values": {"category_id": commands}})
                self.assertEqual(preview["changes"],
                                 [{"field": "Tags", "old": "New", "new": shown}])

    def test_preview_lists_only_the_values_that_change(self):
        preview = self.tool("update_record", self.editor)._llm_preview(
            {"model": "res.partner", "id": self.partner.id,
             "values": {"name": "Tool Partner", "city": "Liège", "is_company": False,
                        "parent_id": False, "color": 0.0}})
        self.assertEqual(preview["changes"], [{"field": "City", "old": "Namur", "new": "Liège"}])
        # Several records: a field is left out only when it is already that value on each.
        other = self.env["res.partner"].create({"name": "Other", "city": "Liège"})
        both = self.tool("update_record", self.editor)._llm_preview(
            {"model": "res.partner", "ids": [self.partner.id, other.id],
             "values": {"city": "Liège", "comment": False}})
        self.assertEqual(both["changes"], [{"field": "City", "old": None, "new": "Liège"}])
        # A value the ORM cannot read as the field's type is shown, as a change.
        odd = self.tool("update_record", self.editor)._llm_preview(
            {"model": "res.partner", "id": self.partner.id, "values": {"color": "many"}})
        self.assertEqual([c["field"] for c in odd["changes"]], ["Color Index"])

    def test_touched_records_are_named_as_the_user_reads_them(self):
        read = self.tool("read_record", self.restricted)
        self.assertEqual(read._llm_touched_records(
            {"model": "res.partner", "id": self.partner.id}, "{}"),
            [{"model": "res.partner", "id": self.partner.id, "label": "Tool Partner",
              "changed": False}])
        other = self.env["res.partner"].create({"name": "Second Partner"})
        found = json.dumps([{"id": self.partner.id}, {"id": other.id}, {"name": "no id"}])
        self.assertEqual(
            [link["label"] for link in self.tool("search_records", self.restricted)
             ._llm_touched_records({"model": "res.partner"}, found)],
            ["Tool Partner", "Second Partner"])
        self.assertTrue(self.tool("update_record", self.editor)._llm_touched_records(
            {"model": "res.partner", "id": self.partner.id}, "{}")[0]["changed"])
        # A record the user may not read: its model and id, no error.
        self.env.invalidate_all()
        self.assertEqual(read._llm_touched_records(
            {"model": "ir.config_parameter", "id": self.parameter.id}, "{}")[0]["label"],
            f"System Parameter #{self.parameter.id}")
        for arguments, result in [({"model": "res.partner"}, "not json"),
                                  ({"model": "res.partner"}, '{"count": 3}'),
                                  ({"model": "no.such.model", "id": 1}, "{}"),
                                  ({"model": "res.partner", "id": 0}, "{}")]:
            with self.subTest(arguments=arguments, result=result):
                self.assertEqual(read._llm_touched_records(arguments, result), [])

    def test_wrong_argument_names_are_explained_to_the_model(self):
        with self.assertRaisesRegex(ToolError, "Invalid arguments for read_record .*required"):
            self.run_tool("read_record", self.restricted, model="res.partner", record=1)
