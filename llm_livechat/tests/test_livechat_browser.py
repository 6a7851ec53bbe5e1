"""The visitor's side in a real browser: Odoo's own support page and live chat widget,
unchanged, with the agent's answer arriving over the bus while it is written."""

import threading
from unittest.mock import patch

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler
from odoo.addons.llm_thread.providers import base
from odoo.addons.llm_thread.tests.engine_common import Gate, answer
from odoo.tests import tagged

from .test_livechat_agent import LivechatCase

# Drives the widget in its shadow DOM (the support page has no tour runner).
VISITOR_JS = """
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
(async () => {
    await odoo.livechatReady;
    (await find(".o-livechat-LivechatButton", "")).click();
    await say("When are you open?");
    // The answer is shown while it is written, in the agent's name...
    await find(".o-mail-Message", "We are open", "from 9 to 5");
    await find(".o-mail-Message", "Ava");
    // ...and the visitor may write meanwhile (which lets the model finish).
    await say("seen partial");
    await find(".o-mail-Message", "We are open from 9 to 5.");
    await find(".o-mail-Message", "Glad you are still here.");
    console.log("test successful");
})().catch((error) => console.error(error.message));
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

    def test_visitor_gets_streamed_answer_on_support_page(self):
        gate = Gate()
        self.script([base.TextDelta("We are open "), gate, base.TextDelta("from 9 to 5."),
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
                         ["We are open from 9 to 5.", "Glad you are still here."])
        second = self.provider.requests[1]["messages"]
        self.assertEqual([m.content for m in second if m.role == "user"],
                         ["When are you open?", "seen partial"])
