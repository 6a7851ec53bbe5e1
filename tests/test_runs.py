"""Generations as server-side runs: started with or without a request, followed by any number
of viewers, resumed with ``Last-Event-ID``, stopped from anywhere (engine/run.py)."""

import json

from lxml import html as lxml_html

from odoo import api
from odoo.tests import tagged

from ..providers import base
from .engine_common import WAIT, EngineCase, Gate, answer


def read_events(lines, until=None):
    """(event id, name, payload) triples from SSE lines, up to the event named ``until``
    (included) or the end of the body."""
    events, event_id, name = [], None, None
    for line in lines:
        line = line.decode() if isinstance(line, bytes) else line
        if line.startswith("id: "):
            event_id = line[len("id: "):]
        elif line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((event_id, name, json.loads(line[len("data: "):])))
            if name == until:
                break
            event_id = None
    return events


@tagged("post_install", "-at_install")
class TestServerSideRuns(EngineCase):

    def attach(self, thread, last_event_id=None):
        """A viewer of ``thread``'s generation (another tab, a reload), as user A."""
        self.authenticate("llm_a", "llm_a_password_1")
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        return self.opener.get(f"{self.base_url()}/llm/thread/{thread.id}/stream",
                               headers=headers, stream=True, timeout=WAIT)

    def wait_for_text(self, run, text):
        """Wait until the run's log holds ``text`` (the pump hands deltas over asynchronously)."""
        def written():
            return "".join(p["text"] for _s, n, p in run.events if n == "text_delta") == text
        with run.changed:
            self.assertTrue(run.changed.wait_for(written, WAIT), f"the run wrote {text!r}")

    def body_text(self, message):
        return lxml_html.fromstring(message.body).text_content()

    def test_python_api_runs_without_a_request(self):
        """A server action, a cron or a test starts an answer with no HTTP request and no
        viewer: the call returns at once, the answer is written in the background and
        stored, and ``wait()`` gives the end state."""
        gate = Gate()
        self.script([base.TextDelta("Written "), gate, *answer("in the background")])
        run = self.thread.with_user(self.user_a)._llm_start("Summarise the quarter")
        self.assertTrue(gate.reached.wait(WAIT))
        self.assertFalse(run.finished.is_set(), "returned before the answer was written")
        gate.open()
        self.assertEqual(run.wait(WAIT), "idle")
        self.env.invalidate_all()
        user, assistant = self.messages(self.thread)
        self.assertEqual(self.body_text(user), "Summarise the quarter")
        self.assertEqual(self.body_text(assistant), "Written in the background")
        self.assertEqual(assistant.body_json["finish_reason"], "stop")
        self.assertEqual(self.thread.generation_state, "idle")

    def test_start_rolled_back_never_runs(self):
        """The run begins when the starting transaction commits: rolled back, nothing was
        sent to the model and nothing stays claimed."""
        self.script(answer("never"))
        self.env.flush_all()
        with self.registry.cursor() as cr:
            thread = api.Environment(cr, self.user_a.id, {})["llm.thread"].browse(self.thread.id)
            run = thread._llm_start("changed my mind")
            cr.rollback()
        self.assertIsNone(run.wait(WAIT))
        self.assertEqual(len(self.provider.scripts), 1, "the provider was not called")
        self.env.invalidate_all()
        self.assertFalse(self.messages(self.thread))
        self.assertEqual(self.thread.generation_state, "idle")

    def test_reload_replays_the_text_so_far_then_follows(self):
        """A reload mid-answer: the new viewer gets the text so far in one event, then the
        rest live, and the answer ends as if the tab had never left."""
        gate = Gate()
        self.script([*map(base.TextDelta, ["one ", "two ", "three "]), gate, *answer("four")])
        response = self.post_generate(self.thread, "count", stream=True)
        run = self.running(self.thread)
        self.wait_for_text(run, "one two three ")
        response.close()  # the tab reloads
        viewer = self.attach(self.thread)
        lines = viewer.iter_lines()
        replay = read_events(lines, until="text_delta")
        user, assistant = self.messages(self.thread)
        self.assertEqual([(name, payload) for _id, name, payload in replay], [
            ("message_created", {"message_id": user.id, "role": "user"}),
            ("message_created", {"message_id": assistant.id, "role": "assistant"}),
            ("text_delta", {"message_id": assistant.id, "text": "one two three "}),
        ])
        self.assertTrue(all(event_id.startswith(run.tag + ":") for event_id, _n, _p in replay))
        gate.open()
        live = read_events(lines)
        self.assertEqual([name for _id, name, _p in live],
                         ["text_delta", "usage", "message_final", "done"])
        self.assertEqual(live[0][2]["text"], "four")
        self.assertEqual(live[-1][2], {"thread_id": self.thread.id, "state": "idle"})

    def test_last_event_id_resumes_without_loss_or_double(self):
        first, second = Gate(), Gate()
        self.script([base.TextDelta("a"), base.TextDelta("b"), first, base.TextDelta("c"),
                     second, *answer("d")])
        self.post_generate(self.thread, "letters", stream=True).close()
        run = self.running(self.thread)
        self.wait_for_text(run, "ab")
        seen = read_events(self.attach(self.thread).iter_lines(), until="text_delta")
        last_id = seen[-1][0]
        first.open()  # the network drops here: "c" is written while nobody watches
        self.wait_for_text(run, "abc")
        viewer = self.attach(self.thread, last_event_id=last_id)
        lines = viewer.iter_lines()
        resumed = read_events(lines, until="text_delta")
        self.assertEqual([(name, payload["text"]) for _id, name, payload in resumed],
                         [("text_delta", "c")], "only what came after the last event seen")
        second.open()
        rest = read_events(lines)
        text = "".join(p["text"] for _i, n, p in seen + resumed + rest if n == "text_delta")
        self.assertEqual(text, "abcd")
        self.assertEqual(rest[-1][1], "done")
        # Reconnecting after the end with the last id gets nothing but what it missed.
        tail = read_events(self.attach(self.thread, last_event_id=rest[-2][0]).iter_lines())
        self.assertEqual([name for _id, name, _p in tail], ["done"])

    def test_two_viewers_follow_live_and_stop_from_the_second(self):
        """Two tabs follow one answer live; Stop from the second ends it for both, the
        partial answer kept."""
        gate = Gate()
        self.script([base.TextDelta("partial"), gate, *answer(" never")])
        first = self.post_generate(self.thread, "question", stream=True)
        run = self.running(self.thread)
        self.wait_for_text(run, "partial")
        second = self.attach(self.thread)
        first_lines, second_lines = first.iter_lines(), second.iter_lines()
        for lines in (first_lines, second_lines):
            seen = read_events(lines, until="text_delta")
            self.assertEqual(seen[-1][2]["text"], "partial")
        self.assertEqual(self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/stop", {}),
                         {"stopping": True})
        for lines in (first_lines, second_lines):
            rest = {name: payload for _id, name, payload in read_events(lines)}
            self.assertTrue(rest["message_final"]["stopped"])
            self.assertEqual(rest["done"]["state"], "idle")
        self.env.invalidate_all()
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(self.body_text(assistant), "partial")
        self.assertTrue(assistant.body_json["stopped"])

    def test_nothing_running(self):
        response = self.attach(self.thread)
        self.assertEqual([(name, payload) for _id, name, payload in
                          read_events(response.iter_lines())],
                         [("done", {"thread_id": self.thread.id, "state": "idle"})])
