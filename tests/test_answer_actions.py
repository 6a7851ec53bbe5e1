"""Answer actions on the real route and engine (the scripted provider records what the model
was sent): regenerate, edit and resend, versions, continue, feedback."""

import json

from odoo import http
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from ..engine.generation import CONTINUE_INSTRUCTION
from ..providers import Finish, TextDelta, Usage, base
from .engine_common import WAIT, EngineCase, Gate, WireCase, answer, parse_sse, run_migration
from .fake_provider import FakeProviderCase

Q = base.ChatMessage


def A(text):
    return base.ChatMessage("assistant", text)


@tagged("post_install", "-at_install")
class TestAnswerActions(EngineCase):

    def act(self, message=None, **action):
        """POST the generate route with an action (``regenerate_message_id=...``)."""
        self.env.flush_all()
        self.authenticate("llm_a", "llm_a_password_1")
        data = {"csrf_token": http.Request.csrf_token(self), **action}
        if message is not None:
            data["message"] = message
        response = self.opener.post(f"{self.base_url()}/llm/thread/{self.thread.id}/generate",
                                    data=data, timeout=WAIT)
        self.env.invalidate_all()
        return response, parse_sse(response.text.splitlines()) if response.ok else []

    def ask(self, question, reply):
        self.script(answer(reply))
        response, _events = self.act(question)
        self.assertEqual(response.status_code, 200)
        return self.messages(self.thread, "assistant")[-1]

    def sent(self, index=-1):
        """What the model was sent in its ``index``th call, system prompt aside."""
        return [m for m in self.provider.requests[index]["messages"] if m.role != "system"]

    def ui(self, method, *args, **kwargs):
        return getattr(self.thread.with_user(self.user_a), method)(*args, **kwargs)

    def test_a_failed_answer_regenerated_becomes_an_earlier_version(self):
        # The chat's Retry on a failed answer: the error stays reachable, not in the way.
        self.ask("Q1", "A1")
        self.script([base.TextDelta("Half"), base.ProviderError("Scripted", "server", "Down.")])
        self.act("Q2")
        failed = self.messages(self.thread, "assistant")[-1]
        self.assertTrue(failed.body_json.get("error"))
        self.script(answer("A2"))
        response, events = self.act(regenerate_message_id=failed.id)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.sent(), [Q("user", "Q1"), A("A1"), Q("user", "Q2")],
                         "the failed answer is not sent to the model")
        second = self.messages(self.thread, "assistant")[-1]
        self.assertEqual(self.text(events, second.id), "A2")
        loaded = self.ui("llm_ui_load")["messages"]
        self.assertEqual([m["text"] for m in loaded], ["Q1", "A1", "Q2", "A2"])
        self.assertEqual(loaded[-1]["versions"], [failed.id, second.id])

    def test_regenerate_replaces_the_answer_in_the_history(self):
        self.ask("Q1", "A1")
        first = self.ask("Q2", "A2")
        self.script(answer("A2 again"))
        response, events = self.act(regenerate_message_id=first.id)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.sent(), [Q("user", "Q1"), A("A1"), Q("user", "Q2")],
                         "the replaced answer is not sent to the model")
        self.assertNotIn("user", [p["role"] for n, p in events if n == "message_created"],
                         "no new question")
        second = self.messages(self.thread, "assistant")[-1]
        self.assertEqual(self.text(events, second.id), "A2 again")
        self.assertTrue(first.llm_superseded, "the old answer is an earlier version")
        self.assertEqual(second.llm_parent_id, first.llm_parent_id)
        loaded = {m["id"]: m for m in self.ui("llm_ui_load")["messages"]}
        self.assertNotIn(first.id, loaded)
        self.assertEqual(loaded[second.id]["versions"], [first.id, second.id])

        # The conversation goes on from the new version...
        self.ask("Q3", "A3")
        self.assertEqual(self.sent()[-2:], [A("A2 again"), Q("user", "Q3")])
        # ... and switching back to the first version brings its history back, for the model
        # too; switching forward again restores what followed the second version.
        data = self.ui("llm_ui_switch_version", first.id)
        self.assertEqual([m["text"] for m in data["messages"]], ["Q1", "A1", "Q2", "A2"])
        self.ask("Q4", "A4")
        self.assertEqual(self.sent(), [Q("user", "Q1"), A("A1"), Q("user", "Q2"), A("A2"),
                                       Q("user", "Q4")])
        data = self.ui("llm_ui_switch_version", second.id)
        self.assertEqual([m["text"] for m in data["messages"]],
                         ["Q1", "A1", "Q2", "A2 again", "Q3", "A3"])

    def stopped_before_the_first_word(self, **action):
        """Run ``action`` on a provider that says nothing until the user presses Stop."""
        gate = Gate()
        self.script([gate, *answer("never sent")])
        self.env.flush_all()
        self.authenticate("llm_a", "llm_a_password_1")
        response = self.opener.post(
            f"{self.base_url()}/llm/thread/{self.thread.id}/generate", stream=True, timeout=WAIT,
            data={"csrf_token": http.Request.csrf_token(self), **action})
        self.assertTrue(gate.reached.wait(WAIT))
        self.assertEqual(self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/stop", {}),
                         {"stopping": True})
        events = parse_sse(response.iter_lines())
        self.env.invalidate_all()
        return events

    def test_a_regenerate_stopped_before_its_first_word_keeps_the_answer(self):
        """Nothing came: the answer it was to replace is shown and sent again, as before."""
        self.ask("Q1", "A1")
        first = self.ask("Q2", "A2")
        self.ask("Q3", "A3")
        events = self.stopped_before_the_first_word(regenerate_message_id=first.id)
        self.assertNotIn("message_created", self.names(events))
        self.assertEqual(self.names(events)[-1], "done")
        self.assertEqual(len(self.messages(self.thread, "assistant")), 3,
                         "no other version stored")
        self.assertFalse(first.llm_superseded)
        loaded = self.ui("llm_ui_load")["messages"]
        self.assertEqual([m["text"] for m in loaded], ["Q1", "A1", "Q2", "A2", "Q3", "A3"])
        self.assertEqual([m["versions"] for m in loaded], [[]] * 6)
        # The next question follows A3, for the model too.
        self.ask("Q4", "A4")
        self.assertEqual(self.sent()[-3:], [Q("user", "Q3"), A("A3"), Q("user", "Q4")])

    def test_a_regenerate_failing_before_its_first_word_is_a_version(self):
        """A failure is shown (with Retry) as the new version; the answer it was to replace
        stays one click away."""
        first = self.ask("Q1", "A1")
        self.script([base.ProviderError("Scripted", "auth", "Bad key.")])
        _response, events = self.act(regenerate_message_id=first.id)
        failed = self.messages(self.thread, "assistant")[-1]
        self.assertEqual(dict(events)["error"]["message_id"], failed.id)
        loaded = self.ui("llm_ui_load")["messages"]
        self.assertEqual([m["id"] for m in loaded], [first.llm_parent_id.id, failed.id])
        self.assertEqual(loaded[-1]["versions"], [first.id, failed.id])
        data = self.ui("llm_ui_switch_version", first.id)
        self.assertEqual([m["text"] for m in data["messages"]], ["Q1", "A1"])

    def test_edit_and_resend(self):
        self.ask("Q1", "A1")
        question = self.messages(self.thread, "user")[-1]
        self.ask("Q2", "A2")
        self.script(answer("A1 for the edit"))
        response, events = self.act("Q1 edited", edit_message_id=question.id)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.sent(), [Q("user", "Q1 edited")],
                         "the replaced question and what followed are not sent")
        edited = self.messages(self.thread, "user")[-1]
        self.assertEqual(events[0][1], {"message_id": edited.id, "role": "user"})
        history = self.thread._llm_history()
        self.assertEqual(history.mapped("llm_role"), ["user", "assistant"])
        loaded = self.ui("llm_ui_load")["messages"]
        self.assertEqual([m["text"] for m in loaded], ["Q1 edited", "A1 for the edit"])
        self.assertEqual(loaded[0]["versions"], [question.id, edited.id])
        # The earlier version is still there, with its whole follow-up.
        data = self.ui("llm_ui_switch_version", question.id)
        self.assertEqual([m["text"] for m in data["messages"]], ["Q1", "A1", "Q2", "A2"])

    def cut_answer(self):
        self.script([base.TextDelta("The first half, "), base.Usage(10, 4),
                     base.Finish("length")])
        self.act("Write a long text")
        cut = self.messages(self.thread, "assistant")
        self.assertEqual(cut.body_json["finish_reason"], "length")
        return cut

    def test_continue_appends_to_the_same_answer(self):
        cut = self.cut_answer()
        self.script(answer("and the second half.", usage=(20, 5)))
        response, events = self.act(continue_message_id=cut.id)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.sent(), [Q("user", "Write a long text"), A("The first half, "),
                                       Q("user", CONTINUE_INSTRUCTION)])
        self.assertEqual(self.messages(self.thread, "assistant"), cut, "no new message")
        # The same message, started again from its stored text (a viewer attaching later
        # rebuilds it from the run's events alone).
        self.assertEqual([p for n, p in events if n == "message_created"],
                         [{"message_id": cut.id, "role": "assistant"}])
        self.assertEqual(self.text(events, cut.id), "The first half, and the second half.")
        self.assertEqual(self.thread._llm_history().mapped("llm_role"),
                         ["user", "assistant"])
        loaded = self.ui("llm_ui_load")["messages"][-1]
        self.assertEqual(loaded["text"], "The first half, and the second half.")
        self.assertEqual(cut.body_json["finish_reason"], "stop")
        self.assertEqual((cut.body_json["usage"]["input_tokens"],
                          cut.body_json["usage"]["output_tokens"]), (30, 9), "both calls")
        lines = self.env["llm.usage"].search([("message_id", "=", cut.id)], order="id")
        self.assertEqual(lines.mapped("output_tokens"), [4, 5], "a usage line per call")

    def assert_still_cut(self, cut):
        """``cut`` reads as it did before a continuation that added nothing, and continues."""
        self.assertEqual(self.messages(self.thread, "assistant"), cut, "no new message")
        self.assertEqual(cut.body_json["finish_reason"], "length", "still cut, to continue")
        self.assertFalse(cut.body_json.get("stopped"))
        self.assertEqual((cut.body_json["usage"]["input_tokens"],
                          cut.body_json["usage"]["output_tokens"]), (10, 4), "its usage kept")
        self.assertEqual(self.ui("llm_ui_load")["messages"][-1]["text"], "The first half, ")
        self.script(answer("and the second half.", usage=(20, 5)))
        response, events = self.act(continue_message_id=cut.id)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.text(events, cut.id), "The first half, and the second half.")
        self.assertEqual(cut.body_json["finish_reason"], "stop")
        self.assertFalse(cut.body_json.get("error"), "the failure is over")

    def test_a_continue_stopped_before_its_first_word_leaves_the_answer_cut(self):
        cut = self.cut_answer()
        events = self.stopped_before_the_first_word(continue_message_id=cut.id)
        final = dict(events)["message_final"]
        self.assertEqual((final["finish_reason"], final["stopped"], final["error"]),
                         ("length", False, None))
        self.assert_still_cut(cut)

    def test_a_continue_failing_before_its_first_word_leaves_the_answer_cut(self):
        cut = self.cut_answer()
        self.script([base.ProviderError("Scripted", "auth", "Bad key.")])
        _response, events = self.act(continue_message_id=cut.id)
        final = dict(events)["message_final"]
        self.assertEqual(final["finish_reason"], "length")
        self.assertTrue(final["error"])
        self.assertEqual(dict(events)["error"]["message_id"], cut.id)
        self.assertEqual(cut.body_json["error"]["message"], final["error"],
                         "the failure shows under the answer")
        self.assert_still_cut(cut)

    def test_invalid_actions_are_refused(self):
        done = self.ask("Q1", "A1")
        question = self.messages(self.thread, "user")[-1]
        other = self.env["llm.thread"].with_user(self.user_b).create({"name": "B's"})
        foreign = other._llm_create_message("assistant", "B's answer")
        for action, code in [
            ({"continue_message_id": done.id}, "invalid_action"),  # finished: nothing to continue
            ({"regenerate_message_id": foreign.id}, "invalid_action"),  # another conversation's
            ({"regenerate_message_id": question.id}, "invalid_action"),  # a question
            ({"edit_message_id": question.id}, "invalid_action"),  # an edit sends a message
            ({"regenerate_message_id": "x"}, "invalid_input"),
        ]:
            with self.subTest(action=action):
                response, _events = self.act(**action)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], code)
        self.assertEqual(len(self.messages(self.thread)), 2, "nothing stored")
        self.assertEqual(self.thread.generation_state, "idle", "the claim was not taken")

    def test_migration_links_older_messages(self):
        """Messages stored before versions have no parent: the migration chains them."""
        self.ask("Q1", "A1")
        self.ask("Q2", "A2")
        messages = self.messages(self.thread)
        self.env.cr.execute("UPDATE mail_message SET llm_parent_id = NULL WHERE id IN %s",
                            [tuple(messages.ids)])
        self.env.invalidate_all()
        self.assertTrue(self.thread._llm_versions(), "unlinked, they look like versions")
        run_migration(self.env.cr, "18.0.0.2.0", "18.0.0.1.0")
        self.env.invalidate_all()
        self.assertEqual(messages.mapped("llm_parent_id").ids, messages[:3].ids)
        self.assertFalse(self.thread._llm_versions())

    def test_feedback(self):
        message = self.ask("Q1", "A1")
        # Reported per assistant too: the conversation's, when the answer is rated.
        self.thread.assistant_id = self.env["llm.assistant"].create(
            {"name": "Feedback assistant", "instructions": "Be brief."})
        self.assertEqual(self.ui("llm_ui_feedback", message.id, "up"),
                         {"rating": "up", "comment": ""})
        self.ui("llm_ui_feedback", message.id, "down", "Wrong figures")
        line = self.env["llm.feedback"].search([("message_id", "=", message.id)])
        self.assertEqual(
            (line.rating, line.comment, line.model_id, line.assistant_id, line.user_id),
            ("down", "Wrong figures", self.model, self.thread.assistant_id, self.user_a))
        self.assertEqual(self.ui("llm_ui_load")["messages"][-1]["feedback"],
                         {"rating": "down", "comment": "Wrong figures"})
        # Users see their own ratings only; LLM managers read everyone's.
        Feedback = self.env["llm.feedback"]
        self.assertFalse(Feedback.with_user(self.user_b).search([]))
        with self.assertRaises(AccessError):
            line.with_user(self.user_b).read(["rating"])
        manager = new_test_user(self.env, login="llm_feedback_manager",
                                groups="base.group_user,llm_thread.group_llm_manager")
        self.assertEqual(Feedback.with_user(manager).search([]), line)
        with self.assertRaises(AccessError):
            line.with_user(manager).write({"rating": "up"})
        # Only through the chat: a line made over RPC could name anyone's answer and
        # conversation, whose names Odoo shows to the line's reader.
        other = self.env["llm.thread"].with_user(self.user_b).create({"name": "B's secret"})
        for forged in ({"message_id": message.id, "thread_id": other.id, "rating": "up"},
                       {"message_id": message.id, "rating": "up"}):
            with self.assertRaises(AccessError):
                Feedback.with_user(self.user_b).create(forged)
        with self.assertRaises(AccessError):
            line.with_user(self.user_a).write({"thread_id": other.id})
        self.ui("llm_ui_feedback", message.id, False)
        self.assertFalse(line.exists())


@tagged("post_install", "-at_install")
class TestContinueOnTheWire(WireCase):
    """Continue through the real wire modules: Anthropic's Claude models up to 4.5 continue
    the cut answer from its text (a prefill, a final assistant turn); every other case is
    asked in words. The fake server refuses a prefill the API refuses."""

    def cut(self, fmt, model, text):
        """An answer of ``model`` in ``fmt`` cut by the length limit after ``text``."""
        self.use_format(fmt)
        self.model.api_id = model
        self.fake.script(fmt, [TextDelta(text), Usage(10, 4), Finish("length")])
        self.generate(self.thread, "Write a long text")
        cut = self.messages(self.thread, "assistant")[-1]
        self.assertEqual(cut.body_json["finish_reason"], "length")
        return cut

    def resume(self, fmt, cut, *deltas, finish="stop"):
        """Continue ``cut``, the model writing ``deltas``: the answer's text as streamed."""
        self.fake.script(fmt, [*map(TextDelta, deltas), Usage(20, 5), Finish(finish)])
        response, events = self.generate(self.thread, "", continue_message_id=cut.id)
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("error", dict(events))
        self.assertEqual(cut.body_json["finish_reason"], finish)
        return self.text(events, cut.id)

    def turns(self):
        """The roles and texts of the last request's messages."""
        return [(m["role"], "".join(block["text"] for block in m["content"]))
                for m in self.fake.requests[-1].json["messages"]]

    def test_claude_continues_from_the_cut_text(self):
        cut = self.cut("anthropic", "claude-sonnet-4-5", "The first half, ")
        text = self.resume("anthropic", cut, " and the", " second half.")
        # Sent without the trailing space, which the API refuses; the model's own space is
        # not doubled.
        self.assertEqual(self.turns(), [("user", "Write a long text"),
                                        ("assistant", "The first half,")])
        self.assertEqual(text, "The first half, and the second half.")
        self.assertEqual(self.ui_text(), "The first half, and the second half.")

    def test_claude_continues_in_the_middle_of_a_word_and_after_a_paragraph(self):
        cut = self.cut("anthropic", "claude-opus-4-1", "The answer is 4")
        self.assertEqual(self.resume("anthropic", cut, "2.\n\n", finish="length"),
                         "The answer is 42.\n\n")
        self.assertEqual(self.turns()[-1], ("assistant", "The answer is 4"))
        self.assertEqual(self.ui_text(), "The answer is 42.\n\n")
        # Cut again after a paragraph break, which the model writes again, split.
        self.assertEqual(self.resume("anthropic", cut, "\n", "\nWhy 42?"),
                         "The answer is 42.\n\nWhy 42?")
        self.assertEqual(self.turns()[-1], ("assistant", "The answer is 42."))
        self.assertEqual(self.ui_text(), "The answer is 42.\n\nWhy 42?")

    def ui_text(self):
        return self.thread.with_user(self.user_a).llm_ui_load()["messages"][-1]["text"]

    def assert_asked_in_words(self, fmt, model):
        cut = self.cut(fmt, model, "The first half, ")
        self.assertEqual(self.resume(fmt, cut, "and the second half."),
                         "The first half, and the second half.")
        sent = self.fake.requests[-1].json["messages"]
        self.assertEqual(sent[-1]["role"], "user")
        self.assertIn(CONTINUE_INSTRUCTION, json.dumps(sent[-1]["content"]))
        return self.fake.requests[-1].json

    def test_later_claude_models_are_asked_in_words(self):
        """Claude 4.6 and later refuse a prefill (a 400)."""
        self.assert_asked_in_words("anthropic", "claude-sonnet-4-6")

    def test_claude_thinking_is_asked_in_words(self):
        """With thinking the API wants the final assistant turn to start with a signed
        thinking block, which stored answers do not keep."""
        self.model.supports_reasoning = True
        self.thread.assistant_id = self.env["llm.assistant"].create({
            "name": "Thinker", "reasoning_effort": "low"})
        self.assertIn("thinking", self.assert_asked_in_words("anthropic", "claude-sonnet-4-5"))

    def test_other_formats_are_asked_in_words(self):
        """Chat Completions has no prefill; Ollama documents none for /api/chat."""
        for fmt in ("openai", "ollama"):
            with self.subTest(fmt=fmt):
                self.assert_asked_in_words(fmt, "claude-sonnet-4-5")


@tagged("post_install", "-at_install")
class TestAnswerActionsUi(FakeProviderCase, HttpCase):
    """The tours of static/tests/tours/llm_answer_actions_tours.js, against the fake provider."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        provider = cls.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai", "base_url": cls.fake.base_url("openai")})
        provider.default_model_id = cls.env["llm.model"].create({
            "name": "Fake model", "api_id": "fake-model", "provider_id": provider.id})

    def reply(self, text):
        self.fake.script("openai", [TextDelta(text), Usage(5, 6), Finish("stop")])

    def sent(self, index):
        return [(m["role"], m["content"]) for m in self.fake.requests[index].json["messages"]
                if m["role"] != "system"]

    def test_log_as_note_and_send_as_message(self):
        partner = self.env["res.partner"].create({"name": "Tour Follow-up Contact"})
        self.reply("**Call the customer on Monday** about the renewal.\n\n"
                   "> Renewal terms stay as signed.\n\nGrowth: $E = mc^2$.")
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_answer_to_chatter",
                        login="admin")
        note = partner.message_ids.filtered(lambda m: "Monday" in (m.body or ""))
        self.assertEqual(len(note), 1, "one note posted, the message was discarded")
        self.assertEqual(note.subtype_id, self.env.ref("mail.mt_note"))
        self.assertIn("<strong>Call the customer on Monday</strong>", note.body)
        # Read as the chat shows it: the quote not folded as a reply's, the formula's TeX.
        self.assertNotIn("data-o-mail-quote", note.body)
        self.assertIn("<code>E = mc^2</code>", note.body)

    def test_regenerate_switch_and_edit(self):
        for text in ("Blue", "Green", "Apple"):
            self.reply(text)
        self.start_tour("/odoo/llm-chat", "llm_thread_regenerate_and_edit", login="admin")
        self.assertEqual(self.sent(1), [("user", "Name a colour")], "regenerated without Blue")
        self.assertEqual(self.sent(2), [("user", "Name a fruit")], "the edit replaced it all")
        admin = self.env.ref("base.user_admin")
        thread = self.env["llm.thread"].with_user(admin).search([("user_id", "=", admin.id)])
        self.assertEqual([m["text"] for m in thread.llm_ui_load()["messages"]],
                         ["Name a fruit", "Apple"])
