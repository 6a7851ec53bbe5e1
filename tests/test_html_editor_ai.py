"""Odoo's own AI of the HTML editor (html_editor's ChatGPT dialogs) answers through the
configured provider, never through Odoo's IAP service: the route called as the dialogs call
it, the real wire module and the fake provider server."""

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..controllers import html_editor
from ..engine.claim import Liveness
from ..engine.tokens import estimate_prompt_tokens
from ..providers import base
from .fake_provider import Cut, FakeProviderCase
from .test_access import RpcMixin

SYSTEM = {"role": "system",
          "content": "You are a helpful assistant, your goal is to help the user write their "
                     "document."}
GREETING = {"role": "assistant", "content": "What do you need ?"}
REQUEST = "Write a thank-you note to a customer"


@tagged("post_install", "-at_install")
class TestHtmlEditorAi(RpcMixin, FakeProviderCase, HttpCase):

    fake_api_key = "sk-test"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="editor_user", password="editor_user_pw_1",
                                 groups="base.group_user")
        cls.manager = new_test_user(cls.env, login="editor_manager",
                                    password="editor_manager_pw_1",
                                    groups="base.group_user,llm_thread.group_llm_manager")
        # Only this provider: the user's default chat model is its default one.
        cls.env["llm.provider"].search([]).write({"active": False})
        cls.provider = cls.env["llm.provider"].create({
            "name": "Local", "api_format": "openai", "base_url": cls.fake.base_url("openai"),
            "api_key": "sk-test"})
        cls.model = cls.env["llm.model"].create({
            "name": "Fake", "api_id": "fake-model", "provider_id": cls.provider.id,
            "input_price": 2.0, "output_price": 10.0, "is_default": True})

    def generate_text(self, prompt, history, login="editor_user",
                      route="/html_editor/generate_text"):
        """(result, error) of the route called as the editor's dialogs call it."""
        self.env.flush_all()  # the server reads through its own cursor
        self.authenticate(login, f"{login}_pw_1")
        result = self.rpc(route, {"prompt": prompt, "conversation_history": history})
        self.env.invalidate_all()
        return result

    def usage_lines(self):
        return self.env["llm.usage"].search([("user_id", "=", self.user.id)], order="id")

    def test_answer_from_the_configured_provider(self):
        self.fake.script("openai", [base.TextDelta("Dear customer,\n\n"),
                                    base.TextDelta("thank you."), base.Usage(40, 5),
                                    base.Finish("stop")])
        # The "AI" dialog: the request is already the conversation's last message.
        history = [SYSTEM, GREETING, {"role": "user", "content": REQUEST}]
        result, error = self.generate_text(REQUEST, history)
        self.assertIsNone(error)
        self.assertEqual(result, "Dear customer,\n\nthank you.")
        [sent] = self.fake.requests
        self.assertEqual(sent.path, "/v1/chat/completions")
        self.assertEqual(sent.json["model"], "fake-model")
        self.assertEqual(sent.json["messages"], [SYSTEM, {"role": "user", "content": REQUEST}],
                         "the conversation without its greeting (the user speaks first, as "
                         "Anthropic wants), the request once")
        line = self.usage_lines()
        self.assertRecordValues(line, [{
            "provider_id": self.provider.id, "model_id": self.model.id,
            "company_id": self.env.company.id, "thread_id": False, "message_id": False,
            "input_tokens": 40, "output_tokens": 5, "total_tokens": 45, "estimated": False}])
        self.assertAlmostEqual(line.cost, (40 * 2.0 + 5 * 10.0) / 1e6)

    def test_request_after_the_conversation(self):
        # The translation and alternatives dialogs add their request to the history only with
        # the answer; web_editor's dialogs call the route's other URL.
        self.fake.script("openai", [base.TextDelta("<generated_text>Bonjour</generated_text>"),
                                    base.Finish("stop")])
        system = {"role": "system", "content": "You are a translation assistant."}
        query = "Translate <generated_text>Hello</generated_text> to French"
        result, error = self.generate_text(query, [system], route="/web_editor/generate_text")
        self.assertIsNone(error)
        self.assertEqual(result, "<generated_text>Bonjour</generated_text>")
        self.assertEqual(self.fake.requests[-1].json["messages"],
                         [system, {"role": "user", "content": query}])
        # No counts from the provider: estimated, as the chat's answers are.
        self.assertTrue(self.usage_lines().estimated)

    def test_budget_refuses_before_any_request(self):
        self.env["llm.budget"].create({"name": "Editor tokens", "scope": "user",
                                       "user_id": self.user.id, "unit": "tokens",
                                       "limit": 100, "hard": True})
        with self.assertNoLogs("odoo.http", "WARNING"):
            result, error = self.generate_text(REQUEST, [SYSTEM, GREETING])
        self.assertIsNone(result)
        self.assertRefused(error, "UserError",
                           "This request would exceed the monthly budget \"Editor tokens\"")
        self.assertFalse(self.fake.requests, "nothing sent to the provider")
        self.assertFalse(self.usage_lines())

    def test_calls_at_the_same_time_count_each_others_reservation(self):
        """A call under a hard budget reserves its prompt and its answer's cap, as a chat's
        call does, until its usage line replaces them: a second call made while the first one
        waits for the provider is refused with the chat's message, even though nothing was
        recorded yet; once the first one is counted, a call goes ahead again."""
        self.env["llm.budget"].create({"name": "Editor tokens", "scope": "user",
                                       "user_id": self.user.id, "unit": "tokens",
                                       "limit": 2000, "hard": True})
        Thread = type(self.env["llm.thread"])
        resolve = Thread._llm_resolve_model
        refusals = []

        class WhileWaiting:
            """The first call's client: the second call comes while the provider answers.
            This test server serves one request at a time (they share the test's cursor), so
            the second call is made from there, as the route makes it."""

            def __init__(self, thread, client):
                self.thread, self.client = thread, client

            def chat(self, *args):
                if not refusals:
                    refusals.append(None)
                    try:
                        html_editor.generate(self.thread.env, [base.ChatMessage("user", "two")])
                    except UserError as exc:
                        refusals[0] = exc.args[0]
                return self.client.chat(*args)

        def resolve_while_waiting(thread, model, provider):
            client, *rest = resolve(thread, model, provider)
            return WhileWaiting(thread, client), *rest

        self.patch(Thread, "_llm_resolve_model", resolve_while_waiting)
        self.fake.script("openai", [base.TextDelta("Dear customer,"), base.Usage(300, 400),
                                    base.Finish("stop")])
        result, error = self.generate_text(REQUEST, [SYSTEM])
        self.assertIsNone(error)
        self.assertEqual(result, "Dear customer,")
        self.assertEqual(len(self.fake.requests), 1, "the second call was not made")
        self.assertEqual(len(refusals), 1)
        self.assertIn("The monthly budget \"Editor tokens\" is spent: 2,000 tokens of 2,000 "
                      "tokens are used", refusals[0] or "")
        self.assertEqual(self.usage_lines().mapped("total_tokens"), [700])
        self.assertFalse(self.env["llm.budget.reservation"].search([]),
                         "the usage line replaced the reservation")
        # Counted: the next call has room, for an answer capped to what is left.
        self.fake.script("openai", [base.TextDelta("Again."), base.Usage(30, 2),
                                    base.Finish("stop")])
        result, error = self.generate_text(REQUEST, [SYSTEM])
        self.assertEqual((result, error), ("Again.", None))
        sent = self.fake.requests[-1].json
        self.assertEqual(sent["max_tokens"], 2000 - 700 - estimate_prompt_tokens(
            [base.ChatMessage(m["role"], m["content"]) for m in sent["messages"]], []))
        self.assertFalse(self.env["llm.budget.reservation"].search([]))

    def test_a_reservation_without_conversation_counts_while_its_process_lives(self):
        budget = self.env["llm.budget"].create({"name": "Editor tokens", "scope": "user",
                                                "user_id": self.user.id, "unit": "tokens",
                                                "limit": 2000, "hard": True})
        Reservation = self.env["llm.budget.reservation"].with_user(self.user)
        Reservation._llm_reserve((None, "editor-call"), self.env.company, 1900, 0.25)
        reservation = Reservation.sudo().search([("token", "=", "editor-call")])
        self.assertEqual(reservation.owner, Liveness.owner_key(self.env.registry))
        self.assertEqual(budget._llm_reserved(fields.Datetime.now()), {budget.id: 1900})
        # The process that made it died: no session holds its liveness lock any more.
        reservation.owner = 0
        reservation.flush_recordset()
        self.assertEqual(budget._llm_reserved(fields.Datetime.now()), {})

    def test_no_provider_configured(self):
        self.provider.active = False
        result, error = self.generate_text(REQUEST, [])
        self.assertIsNone(result)
        self.assertRefused(error, "UserError", "No AI provider is configured: ask an LLM "
                                               "manager (")
        self.assertIn("to add one in LLM > Configuration > Providers.", error["message"])
        _result, error = self.generate_text(REQUEST, [], login="editor_manager")
        self.assertRefused(error, "UserError", "No AI provider is configured: add one in "
                                               "LLM > Configuration > Providers")

    def test_provider_error_and_billed_tokens_kept(self):
        self.fake.fail("openai", 401, "Incorrect API key provided")
        with self.assertNoLogs("odoo.http", "WARNING"):
            result, error = self.generate_text(REQUEST, [SYSTEM])
        self.assertIsNone(result)
        self.assertRefused(error, "UserError", "rejected the API key (HTTP 401); ask an LLM "
                                               "manager (")
        self.assertFalse(self.usage_lines(), "a refused request is not billed")
        # A stream cut after some text was billed: its line stays with the error.
        self.fake.script("openai", [base.TextDelta("Dear cus"), Cut()])
        _result, error = self.generate_text(REQUEST, [SYSTEM])
        self.assertRefused(error, "UserError", "closed the answer before its end")
        line = self.usage_lines()
        self.assertEqual(len(line), 1)
        self.assertTrue(line.estimated)
        self.assertGreater(line.output_tokens, 0)

    def test_invalid_history(self):
        for history, message in (
                ("text", "expected a list of messages"),
                ([{"role": "tool", "content": "x"}], "Invalid message role \"tool\""),
                ([{"role": "user"}], "Missing parameters: content.")):
            with self.subTest(history=history):
                _result, error = self.generate_text(REQUEST, history)
                self.assertRefused(error, "UserError", message)
        self.assertFalse(self.fake.requests)

    def test_tour_note_ai_dialog(self):
        """A contact's internal notes: "/", ChatGPT, ask, insert: the fake's text."""
        self.fake.script("openai", [base.TextDelta("Many thanks for your kind order."),
                                    base.Finish("stop")])
        partner = self.env["res.partner"].create({"name": "Editor AI customer"})
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_editor_ai", login="admin")
        self.assertIn("Many thanks for your kind order.", partner.comment)
        [sent] = self.fake.requests
        self.assertEqual(sent.json["messages"][-1],
                         {"role": "user", "content": "Write a thank-you note"})
        self.assertTrue(self.env["llm.usage"].search([
            ("user_id", "=", self.env.ref("base.user_admin").id),
            ("model_id", "=", self.model.id)]))
