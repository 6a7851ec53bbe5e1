"""The Test button of an assistant's form (models/llm_assistant_test.py): the action it
returns, the test conversation (named, reused, the older ones archived), an answer there
whatever the assistant's Offered On, the refusals. The tour that clicks it is in
test_assistant_ui.py."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .engine_common import EngineCase, answer


@tagged("post_install", "-at_install")
class TestAssistantTestButton(EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login="llm_tm", password="llm_tm_password_1",
                                    groups="base.group_user,llm_thread.group_llm_manager")
        cls.other_model = cls.env["llm.model"].create({
            "name": "Other", "api_id": "other-model", "provider_id": cls.provider_record.id})
        cls.provider_record.default_model_id = cls.model
        # Offered on contacts only: a test conversation, about no contact, answers all the same.
        cls.assistant = cls.env["llm.assistant"].create({
            "name": "Contacts helper",
            "instructions": "Help {{ user.name }} with {{ record.name ||| no contact }}.",
            "model_id": cls.other_model.id,
            "custom_temperature": True, "temperature": 0.3,
            "res_model_ids": [(6, 0, cls.env["ir.model"]._get("res.partner").ids)],
            "tool_ids": [(6, 0, cls.env.ref("llm_thread.tool_read_record").ids)],
        })

    def click_test(self, assistant=None):
        """Click Test as the manager: (the action, the conversation it opens)."""
        action = (assistant or self.assistant).with_user(self.manager).action_llm_test()
        return action, self.env["llm.thread"].browse(action["context"]["active_id"])

    def test_opens_the_chat_on_a_conversation_with_the_assistant(self):
        action, thread = self.click_test()
        self.assertEqual((action["type"], action["tag"]), ("ir.actions.client", "llm_thread.chat"))
        # Not the assistant's: the web client would give the chat the button's record.
        self.assertEqual(action["context"]["active_model"], "llm.thread")
        self.assertEqual(thread.user_id, self.manager)
        self.assertEqual(thread.name, "Test: Contacts helper")
        self.assertEqual(thread.llm_test_assistant_id, self.assistant)
        self.assertEqual((thread.assistant_id, thread.model_id, thread.tool_names),
                         (self.assistant, self.other_model, ["read_record"]))
        self.assertFalse(thread.res_model, "about no record")
        summary = thread.with_user(self.manager).llm_ui_load()
        self.assertEqual(summary["test_assistant_id"], self.assistant.id,
                         "the chat's picker offers it there")

    def test_answers_there_whatever_its_offered_on(self):
        _action, thread = self.click_test()
        self.script(answer("Hello"))
        response, _events = self.generate(thread, "Who are you?", login="llm_tm")
        self.assertEqual(response.status_code, 200, response.text)
        system = self.provider.requests[0]["messages"][0]
        self.assertEqual(system.content.split("\n")[0],
                         f"Help {self.manager.name} with no contact.",
                         "the record's placeholders take their default: there is none")
        self.assertEqual(self.provider.requests[0]["options"].temperature, 0.3)
        # A record linked in the header fills them (its model or another: still a test).
        partner = self.env["res.partner"].create({"name": "Azure Interior"})
        thread.with_user(self.manager).llm_ui_link("res.partner", partner.id)
        self.script(answer("Hello"))
        response, _events = self.generate(thread, "And now?", login="llm_tm")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(self.provider.requests[1]["messages"][0].content.startswith(
            f"Help {self.manager.name} with Azure Interior."))
        thread.with_user(self.manager).llm_ui_link("res.users", self.manager.id)
        self.script(answer("Hello"))
        response, _events = self.generate(thread, "And a user?", login="llm_tm")
        self.assertEqual(response.status_code, 200, response.text)
        # A conversation of the same user that is not a test of it: refused, as before.
        plain = self.env["llm.thread"].with_user(self.manager).create({
            "name": "Plain", "provider_id": self.provider_record.id, "model_id": self.model.id})
        plain.sudo().assistant_id = self.assistant
        self.script(answer("never"))
        response, _events = self.generate(plain, "Who are you?", login="llm_tm")
        self.assertEqual(response.status_code, 400)
        self.assertIn("is not available to you in this conversation",
                      response.json()["error"]["message"])
        self.assertEqual(len(self.provider.requests), 3)

    def test_the_chat_may_pick_it_again_there(self):
        _action, thread = self.click_test()
        own = thread.with_user(self.manager)
        own.llm_ui_set_assistant(False)
        self.assertEqual(own.llm_ui_set_assistant(self.assistant.id)["assistant_id"],
                         self.assistant.id)

    def test_only_the_server_marks_a_test_conversation(self):
        thread = self.thread.with_user(self.user_a)
        with self.assertRaisesRegex(AccessError, "set by the server only"):
            thread.write({"llm_test_assistant_id": self.assistant.id})
        with self.assertRaisesRegex(AccessError, "set by the server only"):
            thread.create({"name": "Mine", "llm_test_assistant_id": self.assistant.id})
        with self.assertRaisesRegex(AccessError, "Only LLM managers test assistants"):
            self.assistant.with_user(self.user_a).action_llm_test()

    def test_a_manager_no_more_gets_no_exception(self):
        _action, thread = self.click_test()
        self.manager.groups_id -= self.env.ref("llm_thread.group_llm_manager")
        self.script(answer("never"))
        response, _events = self.generate(thread, "Who are you?", login="llm_tm")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.provider.requests, [])

    def test_reuses_an_empty_one_and_archives_the_older_ones(self):
        _action, first = self.click_test()
        # Edited meanwhile: the empty conversation is reused, set up as the assistant is now.
        self.assistant.write({"name": "Partner helper", "model_id": False, "auto_model": True,
                              "tool_ids": [(5,)]})
        _action, again = self.click_test()
        self.assertEqual(again, first)
        self.assertEqual((again.name, again.auto_model), ("Test: Partner helper", True))
        self.assertEqual(again.tool_names, self.env["llm.tool"].with_user(
            self.manager)._llm_default_names(), "a new conversation's tools")
        # Once something was said there, Test starts another one, and keeps the one before.
        self.script(answer("Hello"))
        self.generate(first, "Hi", login="llm_tm")
        _action, second = self.click_test()
        self.assertNotEqual(second, first)
        self.script(answer("Hello"))
        self.generate(second, "Hi", login="llm_tm")
        _action, third = self.click_test()
        self.assertEqual(
            self.env["llm.thread"].search([("llm_test_assistant_id", "=", self.assistant.id)]),
            third | second, "the one before the new one is kept, to compare; older archived")
        self.assertFalse(first.active)
        self.assertEqual(len(self.messages(first)), 2, "archived, not deleted")
        # Another assistant's test conversations are not touched.
        _action, other = self.click_test(self.env.ref("llm_thread.assistant_odoo_helper"))
        self.assertEqual(other.name, "Test: Odoo helper")
        self.assertTrue(second.active and third.active)

    def test_refusals_say_what_to_change(self):
        helper = self.assistant.with_user(self.manager)
        self.assistant.active = False
        with self.assertRaisesRegex(UserError, r"Contacts helper is archived: unarchive it"):
            helper.action_llm_test()
        self.assistant.active = True
        self.other_model.active = False
        with self.assertRaisesRegex(UserError, r"answers with Other \(Scripted\), which is not "
                                               r"available .* choose another Model"):
            helper.action_llm_test()
        self.provider_record.active = False
        # The chat's own message for nothing to chat with (llm.provider).
        with self.assertRaisesRegex(UserError, r"No (AI provider is configured|chat model is set "
                                               r"up yet).*LLM > Configuration > Providers"):
            helper.action_llm_test()
        self.provider_record.active = True
        self.other_model.active = True
        elsewhere = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        self.manager.company_ids |= elsewhere  # who sees it there, working in another
        self.assistant.company_ids = elsewhere
        with self.assertRaisesRegex(UserError, r"used only in Elsewhere Ltd: switch to one"):
            helper.action_llm_test()
        self.assistant.write({"company_ids": [(5,)],
                              "group_ids": [(6, 0, self.env.ref("base.group_system").ids)]})
        with self.assertRaisesRegex(UserError, r"offered to members of .*Settings only, and you "
                                               r"are in none of them"):
            helper.action_llm_test()
        self.assertFalse(self.env["llm.thread"].search(
            [("llm_test_assistant_id", "=", self.assistant.id)]), "nothing created")

    def test_the_form_says_when_the_record_s_placeholders_render_empty(self):
        self.assertTrue(self.assistant.names_record)
        self.assistant.instructions = "Help {{ user.name }} of {{ company.name }}."
        self.assertFalse(self.assistant.names_record)
