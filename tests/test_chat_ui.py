"""The chat UI in a real browser, against the fake provider: the tours of
static/tests/tours/llm_chat_ui_tours.js, and what they leave in the database."""

import threading

from odoo.tests import HttpCase, tagged

from ..providers import Finish, ReasoningDelta, TextDelta, Usage
from .fake_provider import FakeProvider, StreamedToolCall, Wait, allow_provider_requests


@tagged("post_install", "-at_install")
class TestChatUi(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        allow_provider_requests(cls)
        cls.fake = FakeProvider.start()
        cls.addClassCleanup(cls.fake.stop)
        cls.provider = cls.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai", "base_url": cls.fake.base_url("openai"),
        })
        cls.model = cls.env["llm.model"].create({
            "name": "Fake model", "api_id": "fake-model", "provider_id": cls.provider.id,
        })
        cls.provider.default_model_id = cls.model

    def setUp(self):
        super().setUp()
        self.fake.reset()

    def threads(self):
        return self.env["llm.thread"].search([("user_id", "=", self.env.ref("base.user_admin").id)])

    def test_chat_send_and_reload(self):
        self.fake.script("openai", [
            ReasoningDelta("The user greets me."),
            *map(TextDelta, ["Hello, this is a **stream", "ed** answer ", "in pieces."]),
            Usage(12, 34), Finish("stop"),
        ])
        self.start_tour("/odoo/llm-chat", "llm_thread_chat_send", login="admin")
        thread = self.threads()
        self.assertEqual(len(thread), 1)
        roles = thread._llm_history().mapped("llm_role")
        self.assertEqual(roles, ["user", "assistant"])

    def test_chatter_links_thread_to_record(self):
        partner = self.env["res.partner"].create({"name": "Tour Contact"})
        self.fake.script("openai", [TextDelta("Tour Contact is a fine contact."), Usage(5, 6),
                                    Finish("stop")])
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_chatter_ask", login="admin")
        thread = self.threads()
        self.assertEqual(len(thread), 1)
        self.assertEqual((thread.res_model, thread.res_id), ("res.partner", partner.id))
        # The model was told which record the conversation is about.
        system = self.fake.requests[-1].json["messages"][0]
        self.assertIn("Tour Contact", system["content"])

    def test_tool_call_card(self):
        partner = self.env["res.partner"].create({"name": "Tour Tool Partner"})
        self.fake.script("openai", [
            StreamedToolCall("call_1", "search_records",
                             '{"model": "res.partner", "domain": [["name", "=", "Tour Tool Partner"]], '
                             '"fields": ["display_name"]}'),
            Usage(10, 5), Finish("tool_calls"),
        ])
        self.fake.script("openai", [TextDelta("I found it."), Usage(20, 4), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_tool_card", login="admin")
        tool_message = self.threads()._llm_history().filtered(lambda m: m.llm_role == "tool")
        self.assertEqual(tool_message.body_json["name"], "search_records")
        self.assertIn(str(partner.id), tool_message.body)

    def test_stop_keeps_partial_answer(self):
        release = threading.Event()
        self.addCleanup(release.set)
        self.fake.script("openai", [TextDelta("Once upon a time"), Wait(release),
                                    TextDelta(" never sent"), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_stop", login="admin")
        answer = self.threads()._llm_history().filtered(lambda m: m.llm_role == "assistant")
        self.assertTrue(answer.body_json.get("stopped"))
        self.assertIn("Once upon a time", answer.body)
        self.assertNotIn("never sent", answer.body)
