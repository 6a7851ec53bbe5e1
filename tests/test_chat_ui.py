"""The chat UI in a real browser, against the fake provider: the tours of
static/tests/tours/llm_chat_ui_tours.js, and what they leave in the database."""

import json
import threading

from odoo import Command, api
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from ..providers import Finish, ReasoningDelta, TextDelta, Usage
from .fake_provider import FakeProviderCase, StreamedToolCall, Wait


class ChatUiCase(FakeProviderCase, HttpCase):
    """The admin's chat in a browser, its provider the fake OpenAI server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai", "base_url": cls.fake.base_url("openai"),
        })
        cls.model = cls.env["llm.model"].create({
            "name": "Fake model", "api_id": "fake-model", "provider_id": cls.provider.id,
            "supports_tools": True,
        })
        cls.provider.default_model_id = cls.model

    def threads(self):
        return self.env["llm.thread"].search([("user_id", "=", self.env.ref("base.user_admin").id)])

    def contact_with_phone_thread(self, name):
        """A contact with a phone, and the admin's conversation about it that may read and
        update records."""
        partner = self.env["res.partner"].create({"name": name, "phone": "+32 400 00 00 01"})
        self.env["llm.thread"].with_user(self.env.ref("base.user_admin")).create({
            "name": "About the phone", "res_model": "res.partner", "res_id": partner.id,
            "provider_id": self.provider.id, "model_id": self.model.id,
            "tool_names": ["read_record", "update_record"],
        })
        return partner


@tagged("post_install", "-at_install")
class TestChatUi(ChatUiCase):

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

    def script_rename(self, final_answer):
        partner = self.env["res.partner"].create({"name": "Tour Approval Partner"})
        self.fake.script("openai", [
            StreamedToolCall("call_w", "update_record", json.dumps(
                {"model": "res.partner", "id": partner.id, "values": {"name": "Tour Renamed"}})),
            Usage(10, 5), Finish("tool_calls"),
        ])
        self.fake.script("openai", [TextDelta(final_answer), Usage(20, 4), Finish("stop")])
        return partner

    def test_tool_approval_approve(self):
        partner = self.script_rename("Renamed it.")
        self.start_tour("/odoo/llm-chat", "llm_thread_tool_approve", login="admin")
        self.assertEqual(partner.name, "Tour Renamed")
        approval = self.threads().approval_ids
        self.assertEqual((approval.state, approval.decided_by_id), ("approved", self.env.ref("base.user_admin")))
        log = self.env["llm.tool.log"].search([("thread_id", "=", self.threads().id)])
        self.assertEqual((log.state, log.approved_by_id), ("done", self.env.ref("base.user_admin")))

    def test_tool_approval_deny(self):
        partner = self.script_rename("I left it as it was.")
        self.start_tour("/odoo/llm-chat", "llm_thread_tool_deny", login="admin")
        self.assertEqual(partner.name, "Tour Approval Partner")
        self.assertEqual(self.threads().approval_ids.state, "denied")
        tool_result = self.fake.requests[-1].json["messages"][-1]
        self.assertEqual((tool_result["role"], tool_result["content"]),
                         ("tool", "The user denied this action."))

    def test_change_approved_in_the_chatter_reloads_the_form(self):
        partner = self.contact_with_phone_thread("Tour Phone Contact")
        self.fake.script("openai", [
            TextDelta("I will update the phone."),
            StreamedToolCall("call_p", "update_record", json.dumps(
                {"model": "res.partner", "id": partner.id,
                 "values": {"name": "Tour Phone Contact", "phone": "+32 400 00 00 02"}})),
            Usage(10, 5), Finish("tool_calls"),
        ])
        self.fake.script("openai", [TextDelta("Phone updated."), Usage(20, 4), Finish("stop")])
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_chatter_change_reloads_form",
                        login="admin")
        self.assertEqual(partner.phone, "+32 400 00 00 02")

    def test_answer_goes_on_while_the_user_visits_a_record(self):
        """Opening the linked record from the chat while an answer streams does not stop it:
        the provider is held until the user is back in the chat (its second start), then
        finishes the answer, which the chat shows as it arrives, complete and not stopped.
        Had leaving closed the stream, the server would have stopped the answer meanwhile."""
        partner = self.env["res.partner"].create({"name": "Navigating Contact"})
        self.env["llm.thread"].with_user(self.env.ref("base.user_admin")).create({
            "name": "About the tour contact", "res_model": "res.partner", "res_id": partner.id,
            "provider_id": self.provider.id, "model_id": self.model.id})
        back_in_chat = threading.Event()
        self.addCleanup(back_in_chat.set)
        Thread = type(self.env["llm.thread"])
        ui_options = Thread.llm_ui_options
        starts = []

        def count_chat_starts(threads):
            starts.append(True)
            if len(starts) == 2:
                back_in_chat.set()
            return ui_options(threads)

        self.patch(Thread, "llm_ui_options", api.model(count_chat_starts))
        self.fake.script("openai", [TextDelta("First half, "), Wait(back_in_chat),
                                    TextDelta("second half."), Usage(9, 4), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_answer_survives_navigation", login="admin")
        answer = self.threads()._llm_history().filtered(lambda m: m.llm_role == "assistant")
        self.assertFalse(answer.body_json.get("stopped"))
        self.assertIn("First half, second half.", answer.body)

    def test_leaving_and_coming_back_mid_answer_shows_it_streaming(self):
        """In the same tab, another conversation or another menu while an answer streams,
        then back: the answer still streams there (this tab owns it), never "being written in
        another tab" with the composer locked until it ends."""
        admin = self.env.ref("base.user_admin")
        older = self.env["llm.thread"].with_user(admin).create({
            "name": "An older conversation", "provider_id": self.provider.id,
            "model_id": self.model.id})
        older._llm_create_message("user", "Earlier question", author=admin.partner_id)
        release = threading.Event()
        self.addCleanup(release.set)
        self.fake.script("openai", [TextDelta("First half, "), Wait(release),
                                    TextDelta("never sent"), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_leave_and_come_back", login="admin")
        answer = self.threads().filtered(lambda t: t != older)._llm_history().filtered(
            lambda m: m.llm_role == "assistant")
        self.assertEqual(answer.body_json.get("finish_reason"), "stopped")
        self.assertIn("First half", answer.body)

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

    def test_delete_while_answering_is_not_offered(self):
        """The conversation whose answer is being written cannot be deleted from the list
        (the server refuses it: the button is disabled, saying why); once stopped, it is."""
        release = threading.Event()
        self.addCleanup(release.set)
        self.fake.script("openai", [TextDelta("Once upon a time"), Wait(release),
                                    TextDelta(" never sent"), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_delete_while_answering", login="admin")
        self.assertFalse(self.threads())

    def test_waiting_back_off_and_stop_before_the_answer(self):
        """Send shows a waiting note at once, a rate limit its back-off; Stop before any
        token leaves the question with a Retry, which gets the answer. (The note's text before
        the back-off is checked by static/tests/vitest/chat_app/chat_app.test.ts.)"""
        # Stopped during the back-off, which only shows once the first request was answered:
        # the Retry is certainly the second request.
        self.fake.fail("openai", 429, "Rate limit reached", headers={"Retry-After": "30"})
        self.fake.script("openai", [TextDelta("Here I am."), Usage(5, 3), Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_wait_and_retry", login="admin")
        history = self.threads()._llm_history()
        self.assertEqual(history.mapped("llm_role"), ["user", "assistant"],
                         "one question, asked once; the stopped attempt stored nothing")
        self.assertIn("Here I am.", history[-1].body)
        self.assertEqual(len(self.fake.requests), 2)


@tagged("post_install", "-at_install")
class TestChatUiMethods(TransactionCase):
    """models/llm_thread_ui.py: every method answers for the current user's own threads."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_a = new_test_user(cls.env, login="llm_ui_a", groups="base.group_user")
        cls.user_b = new_test_user(cls.env, login="llm_ui_b", groups="base.group_user")
        cls.manager = new_test_user(cls.env, login="llm_ui_manager",
                                    groups="base.group_user,llm_thread.group_llm_manager")
        cls.partner = cls.env["res.partner"].create({"name": "UI Partner"})
        Thread = cls.env["llm.thread"]
        cls.thread_a = Thread.with_user(cls.user_a).create({"name": "A's chat"})
        cls.linked_a = Thread.with_user(cls.user_a).create({
            "name": "A about partner", "res_model": "res.partner", "res_id": cls.partner.id})
        cls.thread_b = Thread.with_user(cls.user_b).create({"name": "B's chat"})
        provider = cls.env["llm.provider"].create({"name": "P", "base_url": "http://x.invalid/v1"})
        cls.chat_model = cls.env["llm.model"].create({
            "name": "Chat", "api_id": "chat", "provider_id": provider.id})
        cls.env["llm.model"].create({
            "name": "Embed", "api_id": "embed", "use": "embedding", "provider_id": provider.id})
        inactive = cls.env["llm.provider"].create({
            "name": "Off", "base_url": "http://y.invalid/v1", "active": False})
        cls.env["llm.model"].create({"name": "Off model", "api_id": "off", "provider_id": inactive.id})

    def as_user(self, user):
        return self.env["llm.thread"].with_user(user)

    def test_list_is_own_threads_only_even_for_managers(self):
        names = [t["name"] for t in self.as_user(self.user_a).llm_ui_list()]
        self.assertCountEqual(names, ["A's chat", "A about partner"])
        self.assertEqual(self.as_user(self.manager).llm_ui_list(), [])

    def test_list_by_record_and_search(self):
        linked = self.as_user(self.user_a).llm_ui_list(res_model="res.partner",
                                                       res_id=self.partner.id)
        self.assertEqual([t["id"] for t in linked], [self.linked_a.id])
        self.assertEqual(linked[0]["record_name"], "UI Partner")
        found = self.as_user(self.user_a).llm_ui_list(search="about")
        self.assertEqual([t["id"] for t in found], [self.linked_a.id])

    def test_conversations_of_automations_are_listed_apart(self):
        """LLM Chat's list is the user's own chats: the conversations Run Assistant actions
        started for them are behind ``automations``, except one waiting for their approval;
        the record's list shows them all."""
        action = self.env["ir.actions.server"].create({
            "name": "Triage", "model_id": self.env.ref("base.model_res_partner").id,
            "state": "code", "code": "pass"})
        Thread = self.as_user(self.user_a)
        ran = Thread.create({"name": "Triage: UI Partner", "res_model": "res.partner",
                             "res_id": self.partner.id})
        waiting = Thread.create({"name": "Triage waits"})
        (ran | waiting).sudo().write({"llm_action_id": action.id})
        waiting.sudo().generation_state = "approval"
        listed = Thread.llm_ui_list()
        self.assertCountEqual([t["name"] for t in listed],
                              ["A's chat", "A about partner", "Triage waits"])
        self.assertEqual({t["name"]: t["from_automation"] for t in listed}["Triage waits"], True)
        self.assertCountEqual([t["id"] for t in Thread.llm_ui_list(automations=True)],
                              [ran.id, waiting.id])
        self.assertCountEqual(
            [t["id"] for t in Thread.llm_ui_list(res_model="res.partner", res_id=self.partner.id)],
            [self.linked_a.id, ran.id])

    def test_the_owner_s_tabs_hear_of_created_renamed_and_deleted_threads(self):
        """Every LLM Chat open (any tab, any device) updates its list over the bus."""
        Bus = self.env["bus.bus"].sudo()
        owner = self.user_a._bus_channel()

        def notices():
            return [(json.loads(bus.message)["payload"]["change"],
                     json.loads(bus.message)["payload"]["thread_id"])
                    for bus in Bus.search([("id", ">", self.bus_start)], order="id")
                    if json.loads(bus.message)["type"] == "llm_thread/thread_list"
                    and json.loads(bus.channel)[1:] == [owner._name, owner.id]]

        self.env.cr.precommit.run()  # what the set-up queued
        self.bus_start = Bus.search([], order="id desc", limit=1).id
        thread = self.as_user(self.user_a).create({"name": "Told"})
        thread.llm_update({"name": "Told again"})
        thread.llm_ui_delete()
        self.env.cr.precommit.run()  # the bus notifications are queued for the commit
        self.assertEqual(notices(), [("created", thread.id), ("renamed", thread.id),
                                     ("deleted", thread.id)])

    def test_search_by_what_was_said(self):
        self.thread_a._llm_create_message("assistant", "The invoice of Deco Addict is overdue.")
        self.thread_b._llm_create_message("assistant", "Another invoice, of someone else.")
        found = self.as_user(self.user_a).llm_ui_list(search="INVOICE")
        self.assertEqual([t["id"] for t in found], [self.thread_a.id])
        self.assertEqual(self.as_user(self.user_a).llm_ui_list(search="nothing like it"), [])

    def test_create_with_the_drafts_choices(self):
        """The chat creates a thread with its first message, with what the user chose before."""
        data = self.as_user(self.user_a).llm_ui_create(values={
            "name": "Which companies?", "auto_model": True, "tool_names": [],
        })
        thread = self.env["llm.thread"].browse(data["id"])
        self.assertEqual((thread.name, thread.auto_model, thread.tool_names or []),
                         ("Which companies?", True, []))
        self.assertEqual(thread.model_id, self.chat_model)
        with self.assertRaises(UserError):
            self.as_user(self.user_a).llm_ui_create(values={"user_id": self.user_b.id})

    def test_options_give_the_tools_a_new_thread_starts_with(self):
        options = self.as_user(self.user_a).llm_ui_options()
        self.assertEqual(options["default_tool_names"],
                         self.env["llm.tool"]._llm_default_names())

    def test_readable_models_list_business_models_first(self):
        """Models behind a menu the user can open come first: for an LLM manager, LLM Usage
        (LLM › Reporting) before Attachment, readable but in no menu of theirs."""
        models = [m["model"] for m in
                  self.as_user(self.manager).llm_ui_readable_models(limit=1000)]
        self.assertLess(models.index("llm.usage"), models.index("ir.attachment"))
        business = self.as_user(self.manager)._llm_ui_menu_models()
        first_other = next(i for i, model in enumerate(models) if model not in business)
        self.assertTrue(all(model not in business for model in models[first_other:]))

    def test_load_link_delete_refuse_someone_elses_thread(self):
        for user in (self.user_a, self.manager):
            other = self.thread_b.with_user(user)
            with self.assertRaises(AccessError):
                other.llm_ui_load()
            with self.assertRaises(AccessError):
                other.llm_ui_link("res.partner", self.partner.id)
            with self.assertRaises(AccessError):
                other.llm_ui_delete()
        self.assertTrue(self.thread_b.exists())

    def test_create_links_a_readable_record_with_the_default_model(self):
        data = self.as_user(self.user_a).llm_ui_create("res.partner", self.partner.id)
        thread = self.env["llm.thread"].browse(data["id"])
        self.assertEqual(thread.user_id, self.user_a)
        self.assertEqual((thread.res_model, thread.res_id), ("res.partner", self.partner.id))
        self.assertEqual(thread.model_id, self.chat_model)
        self.assertEqual(data["messages"], [])

    def test_link_refuses_unknown_or_unreadable_records(self):
        thread = self.thread_a.with_user(self.user_a)
        with self.assertRaises(UserError):
            thread.llm_ui_link("no.such.model", 1)
        with self.assertRaises(UserError):
            thread.llm_ui_link("res.partner", 0)
        with self.assertRaises(AccessError):
            thread.llm_ui_link("ir.config_parameter",
                               self.env["ir.config_parameter"].search([], limit=1).id)
        summary = thread.llm_ui_link("res.partner", self.partner.id)
        self.assertEqual(summary["record_name"], "UI Partner")
        self.assertFalse(thread.llm_ui_link(False, False)["res_model"])

    def test_a_deleted_linked_record_is_named_so_in_the_header_and_the_list(self):
        partner = self.env["res.partner"].create({"name": "Soon Gone"})
        thread = self.thread_a.with_user(self.user_a)
        thread.llm_ui_link("res.partner", partner.id)
        partner.unlink()
        listed = next(t for t in thread.llm_ui_list() if t["id"] == thread.id)
        for summary in (thread.llm_ui_load(), listed):
            self.assertEqual((summary["record_name"], summary["record_deleted"]),
                             ("Deleted record (Contact)", True))
        self.assertFalse(thread.llm_ui_link(False, False)["record_deleted"])

    def test_options_offer_active_chat_models_only(self):
        options = self.as_user(self.user_a).llm_ui_options()
        self.assertEqual([m["name"] for m in options["models"]], ["Chat"])
        self.assertFalse(options["can_configure"])
        self.assertTrue(self.as_user(self.manager).llm_ui_options()["can_configure"])
        self.assertTrue(all({"name", "description", "writes"} <= set(t) for t in options["tools"]))
        self.assertNotIn("company_name", options, "only said when there is no model")

    def test_options_without_models_say_where_and_whom_to_ask(self):
        """A company without providers while others have some: the chat names the company and
        its LLM managers, not "no provider is configured" and an anonymous administrator."""
        other = self.env["res.company"].create({"name": "Company C"})
        user_c = new_test_user(self.env, login="llm_ui_user_c", groups="base.group_user",
                               company_id=other.id, company_ids=[Command.set(other.ids)])
        options = self.as_user(user_c).llm_ui_options()
        self.assertEqual(options["models"], [])
        self.assertEqual(options["company_name"], "Company C")
        self.assertEqual(options["manager_names"], "an administrator", "Company C has none")
        self.manager.company_ids |= other
        self.assertIn(self.manager.name, self.as_user(user_c).llm_ui_options()["manager_names"])

    def test_options_without_models_name_the_providers_waiting_for_theirs(self):
        """A provider whose models were never fetched is not "no provider": the options name
        it (the chat says to fetch its models, the editor's AI too)."""
        other = self.env["res.company"].create({"name": "Company D"})
        user_d = new_test_user(self.env, login="llm_ui_user_d", groups="base.group_user",
                               company_id=other.id, company_ids=[Command.set(other.ids)])
        self.assertEqual(self.as_user(user_d).llm_ui_options()["empty_provider_names"], "")
        self.env["llm.provider"].create({"name": "New Mistral", "base_url": "http://z.invalid/v1",
                                         "company_id": other.id})
        options = self.as_user(user_d).llm_ui_options()
        self.assertEqual((options["models"], options["empty_provider_names"]), ([], "New Mistral"))
        self.assertEqual(
            self.env["llm.provider"].with_user(user_d)._llm_not_configured_message(),
            "No chat model is set up yet for New Mistral: ask an LLM manager (an administrator) "
            "to fetch its models or to add one.")
        self.manager.company_ids |= other
        self.assertEqual(
            self.env["llm.provider"].with_user(self.manager).with_company(other)
            ._llm_not_configured_message(),
            "No chat model is set up yet for New Mistral: click Fetch models on the provider in "
            "LLM > Configuration > Providers, or add a model in LLM > Configuration > Models.")

    def test_readable_models_respect_access_rights(self):
        models = {m["model"] for m in self.as_user(self.user_a).llm_ui_readable_models(limit=1000)}
        self.assertIn("res.partner", models)
        self.assertNotIn("ir.config_parameter", models)

    def test_load_returns_messages_as_text_with_their_data(self):
        thread = self.thread_a
        thread.message_post(body="Hi there", llm_role="user")
        thread._llm_create_message("assistant", "**Bold** & <tags>", {"usage": {"input_tokens": 1}})
        data = thread.with_user(self.user_a).llm_ui_load()
        self.assertEqual([(m["role"], m["text"]) for m in data["messages"]],
                         [("user", "Hi there"), ("assistant", "**Bold** & <tags>")])
        self.assertEqual(data["messages"][1]["data"], {"usage": {"input_tokens": 1}})

    def test_recipients_are_those_mail_suggests_for_the_record(self):
        """Send as message: the To field mail's own "Send message" would fill, here the
        contact itself; nothing without a linked record; the owner's only."""
        self.assertEqual(self.linked_a.with_user(self.user_a).llm_ui_recipients(),
                         [self.partner.id])
        self.assertEqual(self.thread_a.with_user(self.user_a).llm_ui_recipients(), [])
        with self.assertRaises(AccessError):
            self.linked_a.with_user(self.user_b).llm_ui_recipients()

    def test_load_totals_every_call_of_the_thread(self):
        """The conversation's total counts its usage lines, those of the earlier versions of
        a regenerated answer too (billed, but not among the messages shown)."""
        thread = self.thread_a
        self.assertIsNone(thread.with_user(self.user_a).llm_ui_load()["usage"])
        company = self.env.company
        line = {"user_id": self.user_a.id, "company_id": company.id, "thread_id": thread.id,
                "model_id": self.chat_model.id, "currency_id": company.currency_id.id}
        Usage = self.env["llm.usage"].sudo()
        # The first answer, its regenerated version, and another conversation's call.
        Usage.create({**line, "input_tokens": 100, "output_tokens": 50, "cost": 0.5})
        Usage.create({**line, "input_tokens": 40, "output_tokens": 20, "cost": 0.25,
                      "estimated": True})
        Usage.create({**line, "thread_id": self.linked_a.id, "input_tokens": 7, "cost": 9.0})
        usage = thread.with_user(self.user_a).llm_ui_load()["usage"]
        self.assertEqual(usage, {"input_tokens": 140, "output_tokens": 70, "estimated": True,
                                 "cost": 0.75, "currency": company.currency_id.name,
                                 "model": "Chat"})


@tagged("post_install", "-at_install")
class TestChatLayout(HttpCase):
    """Where a conversation opens, and the chat on a phone: the tours of
    static/tests/tours/llm_chat_layout_tours.js, on stored conversations (nothing is sent)."""

    def thread(self, name, turns, **values):
        admin = self.env.ref("base.user_admin")
        thread = self.env["llm.thread"].with_user(admin).create({"name": name, **values})
        for question, answer in turns:
            thread._llm_create_message("user", question, author=admin.partner_id)
            thread._llm_create_message("assistant", answer)
        return thread

    def test_opens_at_the_latest_message(self):
        partner = self.env["res.partner"].create({"name": "Layout Contact"})
        turns = [(f"Question {i}", f"Answer {i}, long enough to take a line or two.") for i in range(15)]
        self.thread("Long talk", [*turns, ("And finally?", "The last answer.")],
                    res_model="res.partner", res_id=partner.id)
        self.start_tour("/odoo/llm-chat", "llm_thread_opens_at_latest", login="admin")

    def test_form_of_a_conversation_whose_record_was_deleted(self):
        partner = self.env["res.partner"].create({"name": "Gone Contact"})
        thread = self.thread("About a gone contact", [("Who is it?", "A contact.")],
                             res_model="res.partner", res_id=partner.id)
        partner.unlink()
        self.start_tour(f"/odoo/action-llm_thread.llm_thread_action/{thread.id}",
                        "llm_thread_form_deleted_record", login="admin")

    def test_phone(self):
        self.browser_size = "390x844"
        self.touch_enabled = True
        self.thread("Older talk", [("Hello", "Hi.")])
        self.thread("Figures", [("Sales by region?", "| Region | Q1 revenue | Q2 revenue | Growth | Main customer |\n"
                                 "|---|---|---|---|---|\n"
                                 "| Europe | 120,000 EUR | 135,500 EUR | +12.9% | Azure Interior |\n"
                                 "| North America | 98,200 EUR | 91,000 EUR | -7.3% | Deco Addict |\n")])
        self.start_tour("/odoo/llm-chat", "llm_thread_phone", login="admin")


@tagged("post_install", "-at_install")
class TestChatterPanelUi(ChatUiCase):
    """The AI panel inside a form (commit 4007d2a): the form's own edits and its pager."""

    def test_unsaved_edit_does_not_overwrite_the_approved_change(self):
        """The phone is edited in the form but not saved, then a change of the same phone is
        approved in the panel: the approved value is stored. The form is saved before the
        answer starts; before, the reload after the tool call saved the edit over it."""
        partner = self.contact_with_phone_thread("Dirty Form Contact")
        self.fake.script("openai", [
            StreamedToolCall("call_p", "update_record", json.dumps(
                {"model": "res.partner", "id": partner.id,
                 "values": {"phone": "+32 400 00 00 02"}})),
            Usage(10, 5), Finish("tool_calls"),
        ])
        self.fake.script("openai", [TextDelta("Phone updated."), Usage(20, 4), Finish("stop")])
        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_chatter_dirty_form_saved_first",
                        login="admin")
        self.env.invalidate_all()
        self.assertEqual(partner.phone, "+32 400 00 00 02")

    def test_panel_follows_the_pager(self):
        """With the panel open, the pager's next arrow shows the next record's conversations,
        and a question asked then is about that record."""
        first, second = self.env["res.partner"].create([{"name": "Pager Tour A"},
                                                        {"name": "Pager Tour B"}])
        admin = self.env.ref("base.user_admin")
        about_first = self.env["llm.thread"].with_user(admin).create({
            "name": "About Pager Tour A", "res_model": "res.partner", "res_id": first.id,
            "provider_id": self.provider.id, "model_id": self.model.id})
        self.fake.script("openai", [TextDelta("Pager Tour B is fine."), Usage(5, 6),
                                    Finish("stop")])
        self.start_tour("/odoo/action-base.action_partner_form", "llm_thread_chatter_panel_follows_pager", login="admin")
        self.env.invalidate_all()
        self.assertFalse(about_first._llm_history(), "nothing was asked about the first record")
        asked = self.threads() - about_first
        self.assertEqual(len(asked), 1)
        self.assertEqual((asked.res_model, asked.res_id), ("res.partner", second.id))
        self.assertIn("What about the second contact?", asked._llm_history()[0].body)
