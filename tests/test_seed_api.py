"""The original module's documented Python API (the customer's first document, the README of
``llm_thread``), its examples run as written. What differs is only what this database has:
``res.partner`` where the README links a ``sale.order`` (``sale`` is not a dependency), this
module's tools and provider records where it names others."""

from contextlib import contextmanager

from lxml import html as lxml_html

from odoo import api
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.llm_thread import LlmBusyError
from ..providers import base
from .engine_common import EngineCase, answer


@tagged("post_install", "-at_install")
class TestSeedApi(EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Azure Interior",
                                                      "is_company": True})
        cls.order = cls.env["res.partner"].create({"name": "Order contact",
                                                   "parent_id": cls.customer.id})

    @contextmanager
    def seed_env(self):
        """An environment of user A on a cursor of its own, as a request or a job has: the
        seed's generate() commits (the user's message is saved before the answer).

        The events are read after the block: the answer is written by a run in a thread of
        its own, and in test mode every cursor shares one connection under one lock, which
        the block holds (in production a request reads them with its cursor open)."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            yield api.Environment(cr, self.user_a.id, {})
        self.env.invalidate_all()

    def test_related_records(self):
        env = self.env(user=self.user_a)
        provider, model, sale_order = self.provider_record, self.model, self.order
        # As in "Related Records".
        thread = env['llm.thread'].create({
            'name': 'Sales Discussion',
            'provider_id': provider.id,
            'model_id': model.id,
            'model': 'res.partner',  # Related model
            'res_id': sale_order.id,  # Related record ID
        })
        context = thread.get_context()
        self.assertEqual(context['related_record'].get_field('parent_id'), "Azure Interior")
        self.assertEqual(context['related_record'].get_field('name'), "Order contact")
        self.assertEqual((context['related_model'], context['related_res_id']),
                         ('res.partner', sale_order.id))
        self.assertEqual(context['related_record'].get_field('no_such_field', 'n/a'), 'n/a')
        self.assertEqual((thread.res_model, thread.res_id), ('res.partner', sale_order.id))

    def test_tool_integration(self):
        thread = self.thread.with_user(self.user_a)
        search_tool = self.env.ref("llm_thread.tool_search_records")
        create_tool = self.env.ref("llm_thread.tool_create_record")
        calendar_tool = self.env.ref("llm_thread.tool_count_records")
        # As in "Tool Integration".
        thread.tool_ids = [(6, 0, [
            search_tool.id,
            create_tool.id,
            calendar_tool.id,
        ])]
        self.assertEqual(thread.tool_names, ["search_records", "create_record", "count_records"])
        self.assertEqual(thread.tool_ids, search_tool | create_tool | calendar_tool)
        sql = self.env.ref("llm_thread.tool_sql_query")
        with self.assertRaises(AccessError):
            thread.tool_ids = [(4, sql.id)]  # a managers' tool, refused as in the Tools menu
        thread.invalidate_recordset()
        self.assertNotIn("sql_query", thread.tool_names)

    def test_concurrent_generation_protection(self):
        thread = self.thread.with_user(self.user_a)
        # As in "Concurrent Generation Protection".
        with thread._generation_lock():
            self.assertEqual(thread.generation_state, "generating")
            with self.assertRaises(LlmBusyError):
                with thread._generation_lock():
                    pass
        self.assertEqual(thread.generation_state, "idle")

    def test_thread_management(self):
        env = self.env(user=self.user_a)
        # As in "Thread Management".
        thread = env['llm.thread'].create({
            'name': 'My Chat',
            'provider_id': self.provider_record.id,
            'model_id': env['llm.model'].search([('name', '=', 'Scripted')], limit=1).id,
        })
        thread.message_post(
            body="Hello, AI!",
            llm_role="user",
            author_id=env.user.partner_id.id,
        )
        # What the model and the tools said is server code's to post: in sudo (over RPC a
        # user would forge them, docs/seed_api.md).
        thread = thread.sudo()
        thread.message_post(
            llm_role="assistant",
            body_json={"tool_calls": [{"id": "call_123", "type": "function", "function": {
                "name": "search_records", "arguments": '{"model": "res.partner"}'}}]},
        )
        thread.message_post(
            llm_role="tool",
            body_json={
                "tool_call_id": "call_123",
                "function": "search_records",
                "result": {"count": 5, "records": [{"id": 1}]}
            },
        )
        answer_message = thread.message_post(
            body="**Hello!** How can I help you today? <script>alert(1)</script>",
            llm_role="assistant",
            author_id=False,
        )
        # Markdown became safe HTML; the model reads the markdown back.
        self.assertIn("<strong>Hello!</strong>", answer_message.body)
        self.assertNotIn("<script", answer_message.body)
        messages = thread._llm_build_messages(100_000, 256)[1:]  # after the system prompt
        self.assertEqual([m.role for m in messages], ["user", "assistant", "tool", "assistant"])
        self.assertEqual(messages[1].tool_calls, (base.ToolCall(
            "call_123", "search_records", {"model": "res.partner"}),))
        self.assertEqual((messages[2].tool_call_id, messages[2].name, messages[2].content),
                         ("call_123", "search_records",
                          '{"count": 5, "records": [{"id": 1}]}'))
        self.assertTrue(messages[3].content.startswith("**Hello!** How can I help you today?"))

    def test_generation(self):
        self.script(answer("Your order ", "is shipped."))
        printed = []
        with self.seed_env() as env:
            thread = env["llm.thread"].browse(self.thread.id)
            events = thread.generate(user_message_body="What's my order status?")
        # As in "Generation".
        for event in events:
            if event['type'] == 'message_create':
                printed.append(("New message:", event['message']))
            elif event['type'] == 'message_chunk':
                printed.append(("Chunk received",))
            elif event['type'] == 'message_update':
                printed.append(("Final message:", event['message']))
            elif event['type'] == 'error':
                printed.append(("Error:", event['error']))
        user, assistant = self.messages(self.thread)
        self.assertEqual(printed[0], ("New message:", {
            "id": user.id, "llm_role": "user", "body": "What's my order status?"}))
        self.assertIn(("Chunk received",), printed)
        self.assertEqual(printed[-1], ("Final message:", {
            "id": assistant.id, "llm_role": "assistant", "body": "Your order is shipped."}))
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(),
                         "Your order is shipped.")

    def test_programmatic_chat(self):
        self.script(answer("Looks fine."))
        with self.seed_env() as env:
            thread = env["llm.thread"].create({
                'name': 'Automated Analysis',
                'provider_id': self.provider_record.id,
                'model_id': self.model.id,
            })
            # As in "Programmatic Chat".
            thread.message_post(body="Analyze this data: ...", llm_role="user")
            events = thread.generate()
        for event in events:
            if event['type'] == 'message_update':
                response = event['message']['body']
                break
        self.assertEqual(response, "Looks fine.")
        self.assertEqual(self.provider.requests[0]["messages"][-1],
                         base.ChatMessage("user", "Analyze this data: ..."))

    def test_errors_are_events(self):
        self.script([base.TextDelta("Half"), base.ProviderError(
            "Scripted", "server", "Scripted had a server error.")])
        with self.seed_env() as env:
            run = env["llm.thread"].browse(self.thread.id).generate("Hi")
        events = list(run)
        self.assertIn({"type": "error", "error": "Scripted had a server error."}, events)
        self.assertEqual(events[-1], {"type": "done"})
