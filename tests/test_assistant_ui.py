"""Assistants and prompts in a real browser, against the fake provider: the tours of
static/tests/tours/llm_assistant_tours.js, and what reached the provider."""

from odoo.tests import HttpCase, tagged

from ..providers import Finish, TextDelta, Usage
from .fake_provider import FakeProviderCase


@tagged("post_install", "-at_install")
class TestAssistantUi(FakeProviderCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        provider = cls.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai", "base_url": cls.fake.base_url("openai"),
        })
        provider.default_model_id = cls.env["llm.model"].create({
            "name": "Fake model", "api_id": "fake-model", "provider_id": provider.id,
            "supports_tools": True})
        cls.summariser = cls.env.ref("llm_thread.assistant_record_summariser")

    def thread(self):
        return self.env["llm.thread"].search(
            [("user_id", "=", self.env.ref("base.user_admin").id)])

    def test_pick_an_assistant_in_the_chat(self):
        self.fake.script("openai", [TextDelta("Nothing is overdue."), Usage(5, 4), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_assistant_chat", login="admin")
        thread = self.thread()
        self.assertEqual(thread.assistant_id, self.summariser)
        sent = self.fake.requests[-1].json
        self.assertEqual(sent["temperature"], 0.2, "the assistant's temperature")
        self.assertIn("You summarise the Odoo record", sent["messages"][0]["content"])
        self.assertEqual(sent["messages"][-1]["content"], "What is missing or overdue here?")
        self.assertEqual(sorted(tool["function"]["name"] for tool in sent["tools"]),
                         ["count_records", "read_record", "search_records"])

    def test_pick_an_assistant_and_a_prompt_in_the_chatter(self):
        partner = self.env["res.partner"].create({"name": "Tour Customer"})
        self.fake.script("openai", [TextDelta("A fine customer."), Usage(5, 4), Finish("stop")])
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_assistant_chatter",
                        login="admin")
        thread = self.thread()
        self.assertEqual((thread.res_model, thread.res_id, thread.assistant_id),
                         ("res.partner", partner.id, self.summariser))
        sent = self.fake.requests[-1].json
        # The prompt's placeholders were filled from the record; the instructions' too.
        self.assertTrue(sent["messages"][-1]["content"].startswith("Summarise Tour Customer"))
        self.assertIn('You summarise the Odoo record "Tour Customer" (res.partner)',
                      sent["messages"][0]["content"])

    def test_click_test_on_the_form_and_talk_to_it(self):
        """The Test button (models/llm_assistant_test.py) saves the form, then opens the chat
        on a test conversation with the assistant, offered on contacts only."""
        assistant = self.env["llm.assistant"].create({
            "name": "Pirate",
            "instructions": "Talk about {{ record.name ||| nothing }}.",
            "res_model_ids": [(6, 0, self.env["ir.model"]._get("res.partner").ids)],
        })
        self.fake.script("openai", [TextDelta("Arr, I be the pirate."), Usage(5, 4),
                                    Finish("stop")])
        self.start_tour(f"/odoo/llm-assistants/{assistant.id}", "llm_thread_assistant_test",
                        login="admin")
        self.assertEqual(assistant.instructions, "Answer as a pirate.",
                         "the form was saved before the test")
        self.assertEqual((self.thread().name, self.thread().assistant_id),
                         ("Test: Pirate", assistant))
        sent = self.fake.requests[-1].json
        self.assertTrue(sent["messages"][0]["content"].startswith("Answer as a pirate."))
        self.assertEqual(sent["messages"][-1]["content"], "Who are you?")
