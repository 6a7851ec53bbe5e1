"""Knowledge in conversations, through the real generate route: passages and citation
instructions in the prompt, citations stored, "sources only", access per user, and the
search_knowledge tool."""

from odoo import Command, http
from odoo.tests import tagged

from ..providers import base
from .engine_common import EngineCase, answer, parse_sse
from .fake_embeddings import OPENAI_PATH
from .fake_provider import FakeProviderCase
from .test_access import RpcMixin
from .test_knowledge import policies_source


@tagged("post_install", "-at_install")
class TestKnowledgeChat(RpcMixin, FakeProviderCase, EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.policies = policies_source(cls.env, cls.fake)
        embedder = cls.policies.embedding_model_id
        # Conversations are readable by their owner only: a record source over them holds
        # chunks only their owner may get.
        cls.env["llm.thread"].with_user(cls.user_a).create({"name": "Okapi sanctuary budget"})
        cls.conversations = cls.env["llm.knowledge.source"].create({
            "name": "Conversations", "kind": "record", "embedding_model_id": embedder.id,
            "model_id": cls.env["ir.model"]._get("llm.thread").id,
            "field_ids": [Command.set(cls.env["ir.model.fields"]._get("llm.thread", "name").ids)]})
        cls.env["llm.knowledge.source"]._cron_index()
        cls.thread_b = cls.env["llm.thread"].with_user(cls.user_b).create({
            "name": "B's chat", "provider_id": cls.model.provider_id.id,
            "model_id": cls.model.id})

    def system_prompt(self):
        return self.provider.requests[-1]["messages"][0].content

    def test_passages_and_citations(self):
        self.thread.knowledge_source_ids = self.policies
        self.script(answer("Within seven days [1]."))
        self.generate(self.thread, "How long until refunds are paid back?")
        system = self.system_prompt()
        self.assertIn("Cite the passages you use", system)
        self.assertIn("[1] policy.md - Returns > Refunds\nRefunds are paid back", system)
        user = self.messages(self.thread, "user")
        citation = user.body_json["knowledge"][0]
        self.assertEqual(citation["n"], 1)
        self.assertEqual(citation["label"], "policy.md")
        self.assertTrue(citation["url"].startswith("/web/content/"))
        self.assertTrue(citation["quote"].startswith("Refunds are paid back"))

    def test_citations_are_streamed_before_the_answer(self):
        """The chat shows chips while the answer streams: the citations come in the stream,
        before the first delta, for the question they were retrieved for."""
        self.thread.knowledge_source_ids = self.policies
        self.script(answer("Within seven days [1]."))
        _response, events = self.generate(self.thread, "How long until refunds are paid back?")
        names = self.names(events)
        self.assertLess(names.index("citations"), names.index("text_delta"))
        payload = dict(events)["citations"]
        self.assertEqual(payload["message_id"], self.messages(self.thread, "user").id)
        self.assertEqual(payload["citations"],
                         self.messages(self.thread, "user").body_json["knowledge"])
        self.assertEqual(payload["citations"][0]["label"], "policy.md")
        self.assertTrue(payload["citations"][0]["quote"].startswith("Refunds are paid back"))

    def test_retrieval_runs_once_per_answer(self):
        """The tool loop's later model calls reuse the passages of the first one: the
        question is embedded once; the model searches again only through search_knowledge."""
        self.thread.write({"knowledge_source_ids": [Command.set(self.policies.ids)],
                           "tool_names": ["search_knowledge"]})
        self.fake.reset()
        call = base.ToolCall("c1", "search_knowledge", {"query": "parcel warehouse weekday"})
        self.script([base.ToolCallEvent(call), base.Finish("tool_calls")],
                    answer("Within seven days [1]; parcels leave at noon."))
        self.generate(self.thread, "How long until refunds are paid back?")
        self.assertEqual(len(self.provider.requests), 2)
        prompts = [request["messages"][0].content for request in self.provider.requests]
        self.assertIn("[1] policy.md - Returns > Refunds", prompts[0])
        self.assertEqual(prompts[1], prompts[0])
        embedded = [text for request in self.fake.requests if request.path == OPENAI_PATH
                    for text in request.json["input"]]
        self.assertEqual(embedded, ["How long until refunds are paid back?",
                                    "parcel warehouse weekday"])
        tool_result = self.messages(self.thread, "tool")
        self.assertIn("Parcels leave the warehouse", tool_result.body)

    def test_a_continued_answer_keeps_its_passages_without_searching_again(self):
        """Continue is the same answer: the passages stored on the question, same numbers,
        no new search (nor query embedding)."""
        self.thread.knowledge_source_ids = self.policies
        self.script([base.TextDelta("Refunds take seven days [1], and"), base.Usage(10, 4),
                     base.Finish("length")])
        self.generate(self.thread, "How long until refunds are paid back?")
        cut = self.messages(self.thread, "assistant")
        first_prompt = self.system_prompt()
        stored = self.messages(self.thread, "user").body_json["knowledge"]
        self.fake.reset()
        self.script(answer(" returns are free."))
        self.env.flush_all()
        self.authenticate("llm_a", "llm_a_password_1")
        response = self.opener.post(
            f"{self.base_url()}/llm/thread/{self.thread.id}/generate",
            data={"csrf_token": http.Request.csrf_token(self), "continue_message_id": cut.id})
        events = parse_sse(response.text.splitlines())
        self.assertEqual(self.system_prompt(), first_prompt)
        self.assertFalse([r for r in self.fake.requests if r.path == OPENAI_PATH])
        self.assertEqual(dict(events)["citations"]["citations"], stored)

    def test_a_continued_answer_gets_back_only_passages_it_may_read(self):
        """The passages stored on the question are data, not a permission: when the answer is
        continued, a stored chunk of a source the user may not read (another company's) or
        of a source the conversation does not search is left out, from the stream's
        citations and from the prompt."""
        company_b = self.env["res.company"].create({"name": "Company B"})
        Source, Chunk = self.env["llm.knowledge.source"], self.env["llm.knowledge.chunk"]
        foreign = Source.create({"name": "B only", "kind": "file",
                                 "company_ids": [Command.set(company_b.ids)]})
        unchosen = Source.create({"name": "Handbook", "kind": "file"})
        chunks = self.policies.chunk_ids[:1] | Chunk.create([
            {"source_id": source.id, "content": text, "heading": source.name,
             "checksum": source.name}
            for source, text in ((foreign, "Merger codename BLUEBIRD, price 77M."),
                                 (unchosen, "The walrus is fed at dawn."))])
        self.thread.knowledge_source_ids = self.policies
        self.thread._llm_create_message("user", "Tell me everything.", {"knowledge": [
            {"n": n, "chunk_id": chunk.id, "label": "x", "url": "", "source": "x", "quote": ""}
            for n, chunk in enumerate(chunks, 1)]}, author=self.user_a.partner_id)
        cut = self.thread._llm_create_message("assistant", "Here it is:",
                                              {"finish_reason": "length"})
        self.script(answer(" all of it."))
        self.env.flush_all()
        self.authenticate("llm_a", "llm_a_password_1")
        response = self.opener.post(
            f"{self.base_url()}/llm/thread/{self.thread.id}/generate",
            data={"csrf_token": http.Request.csrf_token(self), "continue_message_id": cut.id})
        citations = dict(parse_sse(response.text.splitlines()))["citations"]["citations"]
        self.assertEqual([(c["n"], c["chunk_id"]) for c in citations], [(1, chunks[0].id)])
        system = self.system_prompt()
        self.assertIn(chunks[0].content, system)
        self.assertNotIn("BLUEBIRD", system)
        self.assertNotIn("walrus", system)

    def test_sources_chosen_in_the_chat_are_access_checked(self):
        """The header's Sources menu: the options are the sources the user may read, chosen
        through the update route; a source of a group the user is not in is refused."""
        keepers = self.env["res.groups"].create({"name": "Walrus keepers"})
        secret = self.env["llm.knowledge.source"].create({
            "name": "Keepers only", "kind": "url", "urls": "https://example.com/walrus",
            "group_ids": [Command.set(keepers.ids)]})
        options = self.env["llm.thread"].with_user(self.user_a).llm_ui_options()
        offered = [option["name"] for option in options["knowledge_sources"]]
        self.assertIn("Policies", offered)
        self.assertNotIn("Keepers only", offered)
        self.assertNotIn("Memory: past conversations", offered)
        policies = self.env["llm.knowledge.source"].search([("name", "=", "Policies")])
        policies.state = "error"
        self.assertNotIn("Policies", [option["name"] for option in self.env["llm.thread"].with_user(
            self.user_a).llm_ui_options()["knowledge_sources"]], "in error, it answers nothing")
        policies.state = "ready"
        route = f"/llm/thread/{self.thread.id}/update"
        _result, error = self.rpc(route, {"values": {"knowledge_source_ids": [secret.id]}})
        self.assertRefused(error, "ValidationError",
                           f"You may not use the knowledge source #{secret.id}")
        self.assertNotIn("Keepers only", error["message"], "its name is not told")
        _result, error = self.rpc(route, {"values": {"knowledge_source_ids": ["1"]}})
        self.assertRefused(error, "UserError", "expected a list of record ids")
        _result, error = self.rpc(route, {"values": {"knowledge_source_ids": [
            self.policies.id]}})
        self.assertIsNone(error)
        self.assertEqual(self.thread._llm_ui_summary()["knowledge_source_ids"],
                         self.policies.ids)
        self.script(answer("Within seven days [1]."))
        self.generate(self.thread, "How long until refunds are paid back?")
        self.assertIn("[1] policy.md - Returns > Refunds", self.system_prompt())
        _result, error = self.rpc(route, {"values": {"knowledge_source_ids": []}})
        self.assertIsNone(error)
        self.env.invalidate_all()
        self.assertFalse(self.thread.knowledge_source_ids)

    def rpc(self, route, params):
        self.authenticate("llm_a", "llm_a_password_1")
        return RpcMixin.rpc(self, route, params)

    def test_the_assistants_sources_are_searched_too(self):
        self.thread.assistant_id = self.env["llm.assistant"].create({
            "name": "Support", "knowledge_source_ids": [Command.set(self.policies.ids)],
            "knowledge_sources_only": True})
        self.script(answer("Within seven days [1]."))
        self.generate(self.thread, "How long until refunds are paid back?")
        system = self.system_prompt()
        self.assertIn("[1] policy.md - Returns > Refunds\nRefunds are paid back", system)
        self.assertIn("Answer only from these passages", system)

    def test_sources_only_says_it_does_not_know(self):
        self.thread.write({"knowledge_source_ids": [Command.set(self.policies.ids)],
                           "knowledge_sources_only": True})
        self.script(answer("I do not know."))
        self.generate(self.thread, "Which planet is the largest?")
        self.assertIn("Say that you do not know because the sources do not cover it",
                      self.system_prompt())
        self.assertEqual(self.messages(self.thread, "user").body_json["knowledge"], [])

    def test_other_users_records_never_reach_the_chat_or_the_tool(self):
        sources = self.policies | self.conversations
        self.thread.knowledge_source_ids = sources
        self.script(answer("Noted [1]."))
        self.generate(self.thread, "okapi sanctuary")
        self.assertIn("Okapi sanctuary budget", self.system_prompt())
        self.thread_b.write({"knowledge_source_ids": [Command.set(sources.ids)],
                             "knowledge_sources_only": True})
        self.script(answer("I do not know."))
        self.generate(self.thread_b, "okapi sanctuary", login="llm_b")
        self.assertNotIn("Okapi", self.system_prompt())
        self.assertIn("do not know", self.system_prompt())
        Tool = self.env["llm.tool"]
        self.assertEqual(Tool.with_user(self.user_b)._llm_tool_search_knowledge("okapi"), [])
        found = Tool.with_user(self.user_a)._llm_tool_search_knowledge("okapi")
        self.assertEqual(found[0]["heading"], "Okapi sanctuary budget")

    def test_new_conversations_enable_the_tool_when_there_are_sources(self):
        Thread = self.env["llm.thread"]
        self.assertIn("search_knowledge", Thread.with_user(self.user_a).create(
            {"name": "t"}).tool_names)
        self.env["llm.knowledge.source"].search([]).active = False
        self.assertNotIn("search_knowledge", Thread.with_user(self.user_a).create(
            {"name": "t"}).tool_names)

    def test_no_sources_no_retrieval(self):
        self.script(answer("Hi."))
        self.generate(self.thread, "refunds")
        self.assertNotIn("knowledge sources", self.system_prompt() if self.provider.requests[-1][
            "messages"][0].role == "system" else "")
        self.assertNotIn("knowledge", self.messages(self.thread, "user").body_json or {})
