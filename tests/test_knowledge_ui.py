"""Citations in the chat, in a real browser: static/tests/tours/llm_knowledge_tours.js."""

import threading

from odoo import Command
from odoo.tests import HttpCase, tagged

from ..providers import Finish, TextDelta, Usage
from .fake_provider import FakeProviderCase, Wait
from .test_knowledge import policies_source


@tagged("post_install", "-at_install")
class TestKnowledgeUi(FakeProviderCase, HttpCase):

    def test_citation_chips(self):
        provider = self.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai", "base_url": self.fake.base_url("openai")})
        chat = self.env["llm.model"].create({
            "name": "Fake model", "api_id": "fake-model", "provider_id": provider.id})
        provider.default_model_id = chat
        source = policies_source(self.env, self.fake)
        policy = source.attachment_ids
        self.env["llm.knowledge.source"]._cron_index()
        admin = self.env.ref("base.user_admin")
        thread = self.env["llm.thread"].with_user(admin).create({
            "name": "Policies chat", "provider_id": provider.id, "model_id": chat.id,
            "knowledge_source_ids": [Command.set(source.ids)]})
        # The answer stalls after its first sentence until the tour stops it: the chip must
        # show while it streams, from the stream alone.
        release = threading.Event()
        self.addCleanup(release.set)
        self.fake.script("openai", [TextDelta("Refunds are paid within seven days [1]."),
                                    Wait(release), Usage(30, 8), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_knowledge_citations", login="admin")
        question = thread._llm_history().filtered(lambda m: m.llm_role == "user")
        url = question.body_json["knowledge"][0]["url"]
        self.assertEqual(url, f"/web/content/{policy.id}")
        # What the chip opens is readable by the user who sees it.
        self.authenticate("admin", "admin")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertIn(b"Refunds are paid back", response.content)
