"""Answers written on the server whoever watches them, in a real browser: the tours of
static/tests/tours/llm_runs_tours.js. The test plays the other device."""

import threading
import time

from lxml import html as lxml_html

from odoo import api
from odoo.tests import tagged

from ..engine import runtime
from ..providers import Finish, TextDelta, Usage
from .engine_common import WAIT
from .fake_provider import Wait
from .test_chat_ui import ChatUiCase

# How long an answer a browser attached to stays unfinished, so that the tour sees it live.
SHOWN_FOR = 2.0


@tagged("post_install", "-at_install")
class TestRunsUi(ChatUiCase):

    def when(self, condition, then):
        """In a thread of its own, run ``then(run)`` once the running generation of this
        database satisfies ``condition(run)`` (its viewers, its text): the browser's progress
        seen from the server, so nothing is timed."""
        def watch():
            deadline = time.monotonic() + WAIT * 4
            while time.monotonic() < deadline:
                with runtime.runs_lock:
                    run = next((run for (dbname, _id), run in runtime.runs.items()
                                if dbname == self.env.cr.dbname and not run.ended), None)
                if run is not None:
                    with run.changed:
                        met = run.changed.wait_for(lambda: condition(run) or run.ended, 1)
                    if met and not run.ended:
                        then(run)
                        return
                else:
                    time.sleep(0.05)
        threading.Thread(target=watch, daemon=True).start()

    @staticmethod
    def soon(event):
        """Set ``event`` a little later: the browser shows the answer being written for a
        while before the provider finishes it (pacing only; nothing is measured)."""
        threading.Timer(SHOWN_FOR, event.set).start()

    def answer_text(self, thread):
        answer = thread._llm_history().filtered(lambda m: m.llm_role == "assistant")[-1:]
        return lxml_html.fromstring(answer.body).text_content(), answer.body_json

    def test_reload_mid_answer_continues(self):
        """The page reloads mid-answer: the answer was never stopped; the reloaded page shows
        it still being written, then finished, exactly once. The provider holds the second
        half until the reloaded page follows the answer (its second viewer)."""
        release = threading.Event()
        self.addCleanup(release.set)
        self.fake.script("openai", [TextDelta("First half, "), Wait(release),
                                    TextDelta("second half."), Usage(9, 4), Finish("stop")])
        self.when(lambda run: run.viewers >= 2, lambda run: self.soon(release))
        self.start_tour("/odoo/llm-chat", "llm_thread_reload_mid_answer", login="admin")
        text, data = self.answer_text(self.threads())
        self.assertEqual(text, "First half, second half.")
        self.assertEqual(data["finish_reason"], "stop")

    def test_other_device_followed_live_and_stops_from_it(self):
        """An answer started on another device (here, from Python) is followed live in the
        browser; then the browser's own answer is stopped from the other device."""
        admin = self.env.ref("base.user_admin")
        thread = self.env["llm.thread"].with_user(admin).create({
            "name": "Shared conversation", "provider_id": self.provider.id,
            "model_id": self.model.id})
        phone_done = threading.Event()
        self.addCleanup(phone_done.set)
        self.fake.script("openai", [TextDelta("Written on my phone, "), Wait(phone_done),
                                    TextDelta("finished live."), Usage(9, 4), Finish("stop")])
        never = threading.Event()
        self.addCleanup(never.set)
        self.fake.script("openai", [TextDelta("Stoppable start"), Wait(never),
                                    TextDelta(" never sent"), Finish("stop")])
        thread._llm_start("Question from my phone")

        def stop_from_the_phone(run):
            # A little later, as soon() does: the browser shows the answer being written first.
            threading.Timer(SHOWN_FOR, stop_now).start()

        def stop_now():
            with self.registry.cursor() as cr:
                api.Environment(cr, admin.id, {})["llm.thread"].browse(thread.id).action_stop()

        def browser_answer_written(run):
            return run.viewers >= 1 and any(
                name == "text_delta" and "Stoppable" in payload["text"]
                for _seq, name, payload in run.events)

        def finish_then_stop_the_next(run):
            self.soon(phone_done)
            run.finished.wait(WAIT)
            self.when(browser_answer_written, stop_from_the_phone)

        # The browser following the phone's answer is its first viewer.
        self.when(lambda run: run.viewers >= 1, finish_then_stop_the_next)
        self.start_tour("/odoo/llm-chat", "llm_thread_other_device", login="admin")
        self.env.invalidate_all()
        text, data = self.answer_text(thread)
        self.assertEqual(text, "Stoppable start")
        self.assertTrue(data["stopped"])
        user_messages = thread._llm_history().filtered(lambda m: m.llm_role == "user")
        self.assertEqual(len(user_messages), 2)
