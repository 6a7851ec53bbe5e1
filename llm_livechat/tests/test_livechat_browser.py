"""The visitor's side in a real browser: Odoo's own support page and live chat widget,
unchanged, with the agent's answer arriving over the bus while it is written, then the
visitor's rating of the session; with no operator, the visitor's email becomes a lead."""

import threading
from unittest.mock import patch

import requests

from odoo.addons.bus.models.bus import channel_with_db, dispatch, hashable
from odoo.addons.bus.websocket import WebsocketConnectionHandler
from odoo.addons.llm_thread.providers import base
from odoo.addons.llm_thread.tests.engine_common import WAIT, Gate, answer
from odoo.tests import tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME
from odoo.tools import html2plaintext

from .test_livechat_agent import LivechatCase

# Drives the widget in its shadow DOM (the support page has no tour runner): helpers, and
# visit(steps) which opens the chat, runs the steps and reports to browser_js.
WIDGET_JS = """
const root = () => document.querySelector(".o-livechat-root")?.shadowRoot;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function find(selector, text, absent) {
    for (let i = 0; i < 600; i++) {
        const found = [...(root()?.querySelectorAll(selector) || [])].find(
            (el) => el.textContent.includes(text) && !(absent && el.textContent.includes(absent)));
        if (found) {
            return found;
        }
        await sleep(50);
    }
    throw new Error(`no ${selector} with "${text}"` + (absent ? ` without "${absent}"` : ""));
}
async function say(text) {
    const input = await find(".o-mail-Composer-input", "");
    input.focus();
    input.value = text;
    input.dispatchEvent(new InputEvent("input", { bubbles: true }));
    await sleep(50);
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await find(".o-mail-Message", text);
}
function visit(steps) {
    (async () => {
        await odoo.livechatReady;
        (await find(".o-livechat-LivechatButton", "")).click();
        await steps();
        console.log("test successful");
    })().catch((error) => console.error(error.message));
}
"""

VISITOR_JS = WIDGET_JS + """
visit(async () => {
    await say("When are you open?");
    // The answer is shown while it is written, in the agent's name, its markdown rendered...
    await find(".o-mail-Message", "We are open", "from 9 to 5");
    await find(".o-mail-Message strong", "open");
    await find(".o-mail-Message", "Ava");
    // ...and the visitor may write meanwhile (which lets the model finish).
    await say("seen partial");
    await find(".o-mail-Message", "We are open from 9 to 5.");
    await find(".o-mail-Message", "Glad you are still here.");
    // The visitor closes the chat and rates the session (Odoo's own rating panel).
    (await find('.o-mail-ChatWindow-command[title*="Close"]', "")).click();
    (await find(".o-livechat-CloseConfirmation-leave", "")).click();
    (await find('img[src*=rating][alt="5"]', "")).click();
    const note = await find("textarea[placeholder='Explain your note']", "");
    note.value = "Fast and clear";
    note.dispatchEvent(new InputEvent("input", { bubbles: true }));
    (await find("button", "Send")).click();
    await find("p", "Thank you for your feedback");
});
"""

LEAD_JS = WIDGET_JS + """
visit(async () => {
    await say("Can a person send me a quote for 40 chairs?");
    await find(".o-mail-Message", "No one from the team is available");
    await say("jane.doe@example.com");
    await find(".o-mail-Message", "The team will write to you at jane.doe@example.com");
});
"""

# Typed as a person types (the browser's own editing, as DevTools' Input.insertText), then
# sent with Enter; the composer must be empty again before the visitor types the next one.
COMPOSER_JS = WIDGET_JS + """
async function type(text) {
    const input = await find(".o-mail-Composer-input", "");
    if (input.value) {
        throw new Error(`the composer kept "${input.value}" before "${text}" was typed`);
    }
    input.focus();
    document.execCommand("insertText", false, text);
    await sleep(50);
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await find(".o-mail-Message", text);
}
visit(async () => {
    await type("When are you open?");
    await find(".o-mail-Message", "We are open from 9 to 5.");
    await type("Can a person call me?");
    await find(".o-mail-Message", "Let me find someone.");
    await find("%(handoff_shown_in)s", "%(after_handoff)s");
    await type("Are you there?");
    await find(".o-mail-Message", "%(after_question)s");
    await type("jane.doe@example.com");
    await find(".o-mail-Message", "%(after_email)s");
    await type("Thanks");
});
"""


@tagged("post_install", "-at_install")
class TestLivechatBrowser(LivechatCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo disables the websocket in tests (bus/tests/common.py enables it the same way).
        cls.startClassPatcher(patch.object(WebsocketConnectionHandler, "websocket_allowed",
                                           return_value=True))

    def relay_bus(self):
        """Tell the open websockets that notifications are waiting, as PostgreSQL's NOTIFY
        does in production: test cursors never really commit, so it is never sent. The
        notifications themselves are the real ones, read from bus.bus by each websocket."""
        stop = threading.Event()

        def relay():
            while not stop.wait(0.05):
                for websockets in list(dispatch._channels_to_ws.values()):
                    for websocket in list(websockets):
                        websocket.trigger_notification_dispatching()

        worker = threading.Thread(target=relay, daemon=True)
        worker.start()
        self.addCleanup(worker.join)
        self.addCleanup(stop.set)

    def visitor_says_once_listened(self, channel, text, target):
        """The visitor of ``channel`` posts ``text`` once the operator's browser listens on the
        bus to ``target`` (as a visitor would write at any time)."""
        self.env.flush_all()
        guest_cookie = self.env["mail.guest"]._cookie_name
        guest = f"{guest_cookie}={self.opener.cookies[guest_cookie]}"
        listened = hashable(channel_with_db(self.registry.db_name, target))

        def visitor_says():
            while listened not in dispatch._channels_to_ws:
                if stop.wait(0.05):
                    return
            # The guest's cookie, and the test's request key (the browser's, at this point).
            cookie = f"{guest}; {TEST_CURSOR_COOKIE_NAME}={self.http_request_key}"
            requests.post(f"{self.base_url()}/mail/message/post", timeout=WAIT,
                          headers={"Cookie": cookie}, json={
                "jsonrpc": "2.0", "params": {
                    "thread_model": "discuss.channel", "thread_id": channel.id,
                    "post_data": {"body": text, "message_type": "comment",
                                  "subtype_xmlid": "mail.mt_comment"}}})

        stop = threading.Event()
        visitor = threading.Thread(target=visitor_says, daemon=True)
        visitor.start()
        self.addCleanup(visitor.join)
        self.addCleanup(stop.set)

    def test_visitor_gets_streamed_answer_on_support_page(self):
        gate = Gate()
        self.script([base.TextDelta("We are **open** "), gate, base.TextDelta("from 9 to 5."),
                     base.Usage(5, 5), base.Finish("stop")],
                    answer("Glad you are still here."))
        channel_class = type(self.env["discuss.channel"])
        on_message = channel_class._llm_on_visitor_message

        def on_visitor_message(channel, message):
            if "seen partial" in message.body:
                gate.open()  # the browser showed the partial answer
            return on_message(channel, message)

        self.patch(channel_class, "_llm_on_visitor_message", on_visitor_message)
        self.relay_bus()
        self.browser_js(f"/im_livechat/support/{self.livechat.id}", VISITOR_JS,
                        timeout=120)
        self.wait_runs()
        channel = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id)])
        self.assertEqual(self.texts(channel, self.agent.partner_id),
                         ["We are *open* from 9 to 5.", "Glad you are still here."])
        second = self.provider.requests[1]["messages"]
        self.assertEqual([m.content for m in second if m.role == "user"],
                         ["When are you open?", "seen partial"])
        self.assertEqual(channel.rating_ids.mapped("rating"), [5])
        self.assertEqual(channel.rating_ids.feedback, "Fast and clear")
        self.env.flush_all()
        report = self.env["llm.livechat.report"].search([("channel_id", "=", channel.id)])
        self.assertEqual((report.rating, report.outcome, report.agent_partner_id),
                         (5, "ai", self.agent.partner_id))

    def test_operator_gets_handoff_with_summary(self):
        """A visitor asks for a person while the operator's Discuss is open: the conversation
        arrives there with the AI summary, and the operator answers."""
        self.operator_online()
        self.script_handoff("Visitor 42 wants a refund for order 12.",
                            "I am bringing in someone from the team.")
        channel = self.open_session()  # the visitor's session, before the operator's browser
        # Once the operator's Discuss listens on the bus.
        self.visitor_says_once_listened(channel, "I want to talk to a person about a refund",
                                        self.operator.partner_id)
        self.relay_bus()
        self.start_tour("/odoo/discuss", "llm_livechat_operator_takes_handoff",
                        login="lc_operator", timeout=180)
        self.wait_runs()
        self.assertEqual(channel.livechat_operator_id, self.operator.partner_id)
        self.assertEqual(self.texts(channel, self.operator.partner_id),
                         ["Hello, Olivia here. Let me check your refund."])
        self.assertFalse(channel.llm_ai_handling)

    def test_no_operator_creates_lead(self):
        """No operator online: the visitor asks for a person, gives their email in the
        widget, and the team gets a lead."""
        self.script_handoff("Asks for a quote for 40 chairs.", "Let me find someone.")
        self.relay_bus()
        self.browser_js(f"/im_livechat/support/{self.livechat.id}", LEAD_JS, timeout=120)
        self.wait_runs()
        channel = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id)])
        self.assertEqual(channel.llm_contact_email, "jane.doe@example.com")
        lead = self.env["crm.lead"].search([("email_from", "=", "jane.doe@example.com")])
        self.assertEqual(lead.source_id, self.env.ref("crm_livechat.utm_source_livechat"))
        self.assertIn("Asks for a quote for 40 chairs.", html2plaintext(lead.description))

    def visitor_types_after_handoff(self, **expected):
        """The visitor types every message in the widget after a hand-off: each is posted as
        typed, and the composer is empty again before the next one (the tester saw one kept
        after a hand-off or two agent messages in a row)."""
        self.script(answer("We are open from 9 to 5."))
        self.script_handoff("Wants a call.", "Let me find someone.")
        self.relay_bus()
        self.browser_js(f"/im_livechat/support/{self.livechat.id}", COMPOSER_JS % expected,
                        timeout=120)
        self.wait_runs()
        channel = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id)])
        self.assertEqual([html2plaintext(m.body).strip() for m in channel.message_ids.filtered(
            "author_guest_id").sorted("id")], ["When are you open?", "Can a person call me?",
                                               "Are you there?", "jane.doe@example.com",
                                               "Thanks"])
        return channel

    def test_visitor_composer_empties_after_handoff_to_nobody(self):
        """Two agent messages in a row (its last words, then: no one is available)."""
        channel = self.visitor_types_after_handoff(
            handoff_shown_in=".o-mail-Message", after_handoff="No one from the team is available",
            after_question="I can no longer answer here",
            after_email="The team will write to you at jane.doe@example.com")
        self.assertEqual(channel.llm_contact_email, "jane.doe@example.com")

    def test_visitor_composer_empties_after_handoff_to_an_operator(self):
        """The operator comes in, and answers each message the visitor writes then."""
        self.operator_online()
        message_post = type(self.env["discuss.channel"]).message_post
        replies = iter(["An operator answers.", "Olivia here too.", "You are welcome."])

        def operator_answers(channel, **kwargs):
            message = message_post(channel, **kwargs)
            if message.author_guest_id and channel.livechat_operator_id == self.operator.partner_id:
                # The operator answers each of the visitor's messages after the hand-off.
                message_post(channel.with_user(self.operator), body=next(replies),
                             message_type="comment", subtype_xmlid="mail.mt_comment")
            return message

        self.patch(type(self.env["discuss.channel"]), "message_post", operator_answers)
        channel = self.visitor_types_after_handoff(
            # The widget is named after the operator.
            handoff_shown_in=".o-mail-ChatWindow-header", after_handoff="Olivia Operator",
            after_question="An operator answers.",
            after_email="Olivia here too.")
        self.assertEqual(channel.livechat_operator_id, self.operator.partner_id)

    def test_admin_edits_the_agent_contact(self):
        """The agent's partner (its user's) saves in Odoo's own contact form, which requires
        an email of a user's partner."""
        partner = self.agent.partner_id
        self.start_tour(f"/odoo/action-base.action_partner_form/{partner.id}",
                        "llm_livechat_admin_edits_agent_contact", login="admin", timeout=120)
        self.assertEqual(partner.function, "Virtual assistant")

    def test_operator_sees_ai_conversations_on_a_phone(self):
        """On a phone, Discuss's Live Chat tab lists the conversations the AI answers, marked,
        though the operator is not in them; one opens with the marker in its header."""
        channel = self.open_session()
        self.assertTrue(channel.llm_ai_handling)
        self.browser_size = "390x844"
        self.touch_enabled = True
        self.start_tour("/odoo/discuss", "llm_livechat_operator_phone", login="lc_operator",
                        timeout=120)

    def test_operator_takes_over_in_discuss(self):
        """An operator's Discuss marks the conversation the AI answers; Take over there makes
        them a member (the agent is silent, the marker goes); Give to the AI brings the agent
        back and the operator leaves (the marker shows again)."""
        channel = self.open_session()
        self.assertTrue(channel.llm_ai_handling)
        take_over = type(channel).action_llm_take_over
        seen = []

        def spy(record):
            result = take_over(record)
            # The agent is silent while the operator is in.
            seen.append((record.env.user, record.llm_ai_handling,
                         record.env.user.partner_id in record.sudo().channel_member_ids.partner_id))
            return result

        self.patch(type(channel), "action_llm_take_over", spy)
        self.relay_bus()
        self.start_tour("/odoo/discuss", "llm_livechat_operator_takes_over",
                        login="lc_operator", timeout=120)
        self.assertEqual(seen, [(self.operator, False, True)])
        self.env.invalidate_all()
        self.assertEqual(channel.livechat_operator_id, self.agent.partner_id)
        self.assertNotIn(self.operator.partner_id, channel.channel_member_ids.partner_id)
        self.assertTrue(channel.llm_ai_handling)
        self.assertIn("I am back to answer your questions.", self.texts(channel)[-1])

    def test_listed_conversation_does_not_disturb_the_operator(self):
        """The agent answers a conversation listed in an operator's Discuss: the answer shows
        there, and opens no chat window once the operator goes to another app."""
        self.script(answer("We are open from 9 to 5."))
        channel = self.open_session()
        # Once the operator's Discuss listens to the conversation (it lists it).
        self.visitor_says_once_listened(channel, "When are you open?", channel)
        self.relay_bus()
        self.start_tour("/odoo/discuss", "llm_livechat_operator_not_disturbed",
                        login="lc_operator", timeout=120)
        self.wait_runs()
        self.assertTrue(channel.llm_ai_handling)
