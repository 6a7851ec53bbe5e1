"""Ask AI in the command palette (Ctrl+K), in a real browser against the fake provider: the
tours of static/tests/tours/llm_ask_ai_tours.js, and what they leave in the database."""

from odoo.tests import HttpCase, new_test_user, tagged

from ..providers import Finish, TextDelta, Usage
from .test_chat_ui import ChatUiCase


@tagged("post_install", "-at_install")
class TestAskAiUi(ChatUiCase):

    def user_messages(self, thread):
        return thread._llm_history().filtered(lambda m: m.llm_role == "user").mapped("body")

    def test_ask_ai_from_a_list_opens_llm_chat(self):
        self.fake.script("openai", [TextDelta("Nothing is overdue."), Usage(5, 4), Finish("stop")])
        self.start_tour("/odoo/action-base.action_partner_form", "llm_thread_ask_ai_chat", login="admin")
        thread = self.threads()
        self.assertEqual(len(thread), 1)
        self.assertFalse(thread.res_model)
        self.assertEqual(thread._llm_history().mapped("llm_role"), ["user", "assistant"])
        self.assertIn("What is overdue this week?", self.user_messages(thread)[0])
        sent = self.fake.requests[-1].json["messages"][-1]
        self.assertEqual(sent["role"], "user")
        self.assertIn("What is overdue this week?", str(sent["content"]))

    def test_ask_ai_from_a_contact_asks_in_its_ai_panel(self):
        partner = self.env["res.partner"].create({"name": "Palette Contact"})
        earlier = self.env["llm.thread"].with_user(self.env.ref("base.user_admin")).create({
            "name": "Earlier talk", "res_model": "res.partner", "res_id": partner.id,
            "provider_id": self.provider.id, "model_id": self.model.id,
        })
        self.fake.script("openai", [TextDelta("A fine contact."), Usage(5, 4), Finish("stop")])
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_ask_ai_record", login="admin")
        new = self.threads() - earlier
        self.assertEqual(len(new), 1, "a new conversation, not the earlier one")
        self.assertEqual((new.res_model, new.res_id), ("res.partner", partner.id))
        self.assertIn("Who is this contact?", self.user_messages(new)[0])
        self.assertFalse(earlier._llm_history())
        # The model was told which record the conversation is about.
        self.assertIn("Palette Contact", self.fake.requests[-1].json["messages"][0]["content"])


@tagged("post_install", "-at_install")
class TestAskAiOffered(HttpCase):
    """The web client registers Ask AI only for the users who may chat (session's llm_user)."""

    def session_info(self, login):
        self.authenticate(login, login)
        return self.make_jsonrpc_request("/web/session/get_session_info")

    def test_offered_to_chat_users_only(self):
        for login, group in (("ask_internal", "base.group_user"), ("ask_portal", "base.group_portal")):
            user = new_test_user(self.env, login, groups=group)
            # Made here: the session info route is read-only, and mail makes them on first use.
            self.env["res.users.settings"]._find_or_create_for_user(user)
        self.assertIs(self.session_info("ask_internal")["llm_user"], True)
        self.assertIs(self.session_info("ask_portal")["llm_user"], False)
