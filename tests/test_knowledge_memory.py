"""Memory: each user's own past conversations, opted in per user, indexed in the background
and only ever retrieved for that same user: through the chat, the search_knowledge tool and
the search box."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .engine_common import EngineCase, answer
from .fake_provider import FakeProviderCase


@tagged("post_install", "-at_install")
class TestKnowledgeMemory(FakeProviderCase, EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.memory = cls.env.ref("llm_thread.knowledge_source_memory")
        cls.manager = new_test_user(cls.env, login="llm_manager", groups="base.group_user,"
                                    "llm_thread.group_llm_manager")
        for user in (cls.user_a, cls.user_b, cls.manager):
            # Through the preferences' own path: a user writes their own flag.
            user.with_user(user).write({"llm_memory": True})
        old = cls.env["llm.thread"].with_user(cls.user_a).create({"name": "Okapi sanctuary"})
        old._llm_create_message("user", "What is our okapi sanctuary budget?",
                                author=cls.user_a.partner_id)
        old._llm_create_message("assistant", "The okapi sanctuary budget is 4200 euros.")
        cls.old = old
        cls.env["llm.knowledge.source"]._cron_index()
        cls.thread_b = cls.env["llm.thread"].with_user(cls.user_b).create({
            "name": "B's chat", "provider_id": cls.model.provider_id.id,
            "model_id": cls.model.id})

    def system_prompt(self):
        messages = self.provider.requests[-1]["messages"]
        return messages[0].content if messages[0].role == "system" else ""

    def test_one_memory_source(self):
        with self.assertRaisesRegex(ValidationError, "There is one Memory source"):
            self.env["llm.knowledge.source"].create({"name": "Memory 2", "kind": "memory"})

    def test_indexed_with_its_owner(self):
        self.assertEqual(self.memory.state, "ready", self.memory.index_error)
        chunk = self.memory.chunk_ids.filtered(lambda c: c.res_id == self.old.id)
        self.assertEqual(chunk.user_id, self.user_a)
        self.assertEqual(chunk.heading, "Okapi sanctuary")
        self.assertIn("Assistant: The okapi sanctuary budget is 4200 euros.", chunk.content)
        self.assertEqual(chunk._llm_citation()["url"], f"/odoo/{self.old.id}/llm-chat",
                         "cited, the conversation opens in LLM Chat, not as a backend form")

    def test_the_owner_gets_it_in_another_conversation(self):
        self.script(answer("It was 4200 euros [1]."))
        self.generate(self.thread, "How much was the okapi sanctuary budget?")
        self.assertIn("4200 euros", self.system_prompt())
        self.assertIn("[1] Okapi sanctuary (a past conversation of this user)\n",
                      self.system_prompt(), "told apart from the company's sources")
        citation = self.messages(self.thread, "user").body_json["knowledge"][0]
        self.assertEqual(citation["label"], "Okapi sanctuary")

    def test_nobody_else_ever_gets_it(self):
        self.script(answer("I do not know."))
        self.generate(self.thread_b, "How much was the okapi sanctuary budget?", login="llm_b")
        self.assertNotIn("4200", self.system_prompt())
        self.assertEqual(self.messages(self.thread_b, "user").body_json["knowledge"], [])
        tool = self.env["llm.tool"].with_user(self.user_b)
        self.assertEqual(tool._llm_tool_search_knowledge("okapi sanctuary budget"), [])
        # A manager may read every conversation, yet never gets someone else's memory, not
        # even in the search box.
        self.assertTrue(self.old.with_user(self.manager).has_access("read"))
        box = self.env["llm.knowledge.search.wizard"].with_user(self.manager).create(
            {"query": "okapi sanctuary budget", "source_ids": [(6, 0, self.memory.ids)]})
        box.action_search()
        self.assertFalse(box.result_ids)
        self.assertTrue(self.env["llm.tool"].with_user(self.user_a)._llm_tool_search_knowledge(
            "okapi sanctuary budget"))

    def test_passages_of_someone_elses_memory_cannot_be_read(self):
        """Not through the search alone: the chunks themselves (a manager reads chunks, to
        manage the sources) keep each memory to its owner, whatever the manager asks for."""
        theirs = self.memory.chunk_ids.filtered(lambda c: c.user_id == self.user_a)
        self.assertTrue(theirs)
        Chunk = self.env["llm.knowledge.chunk"].with_user(self.manager)
        self.assertFalse(Chunk.search([("source_id", "=", self.memory.id)]))
        self.assertFalse(Chunk.search([("user_id", "=", self.user_a.id)]))
        with self.assertRaises(AccessError):
            theirs.with_user(self.manager).read(["content"])
        mine = Chunk.sudo().create({"source_id": self.memory.id, "content": "My own memory.",
                                    "checksum": "mine", "user_id": self.manager.id})
        self.assertEqual(Chunk.search([("source_id", "=", self.memory.id)]), mine)

    def test_turning_it_off_forgets_at_once(self):
        self.user_a.with_user(self.user_a).write({"llm_memory": False})
        self.assertFalse(self.memory.chunk_ids.filtered(lambda c: c.user_id == self.user_a))
        self.assertEqual(self.memory.state, "queued")
        self.script(answer("I do not know."))
        self.generate(self.thread, "How much was the okapi sanctuary budget?")
        self.assertNotIn("4200", self.system_prompt())

    def test_new_messages_are_indexed_by_the_hourly_run(self):
        self.old._llm_create_message("user", "Add the giraffe enclosure: 900 euros.",
                                     author=self.user_a.partner_id)
        self.env["mail.message"].flush_model()
        self.env.cr.execute("UPDATE llm_knowledge_source SET indexed_at = indexed_at - "
                            "interval '1 hour' WHERE id = %s", [self.memory.id])
        self.memory.invalidate_recordset(["indexed_at"])
        self.env["llm.knowledge.source"]._cron_index()
        self.assertIn("giraffe enclosure", " ".join(self.memory.chunk_ids.mapped("content")))
