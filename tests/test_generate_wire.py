import threading

from lxml import html as lxml_html

from odoo.tests import tagged

from ..providers import base
from .engine_common import WAIT, WireCase, parse_sse
from .fake_provider import Wait


@tagged("post_install", "-at_install")
class TestGenerateThroughTheWire(WireCase):
    """The whole path: route, engine, the OpenAI wire module and the fake provider server."""

    def test_answer_streamed_and_stored(self):
        self.fake.script("openai", [base.TextDelta("Hel"), base.TextDelta("lo **you**"),
                                    base.Usage(9, 3), base.Finish("stop")])
        response, events = self.generate(self.thread, "Hi")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.text(events), "Hello **you**")
        self.assertEqual(dict(events)["usage"]["input_tokens"], 9)
        sent = self.fake.requests[-1].json
        self.assertEqual(sent["model"], "fake-model")
        self.assertEqual(sent["messages"][-1], {"role": "user", "content": "Hi"})
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(), "Hello **you**")
        self.assertEqual(assistant.body_json["usage"], {
            "input_tokens": 9, "output_tokens": 3, "cost": 0.0,
            "currency": self.env.company.currency_id.name, "model": "Scripted"})

    def test_provider_refusal_is_an_sse_error(self):
        self.fake.fail("openai", 401, "Incorrect API key provided")
        _response, events = self.generate(self.thread, "Hi")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "auth")
        self.assertIn("Scripted", error["message"], "the message names the provider")
        self.assertEqual(self.messages(self.thread, "user").body, "<p>Hi</p>")
        self.assertEqual(self.messages(self.thread, "assistant").body_json["error"]["code"], "auth")

    def test_stop_cancels_the_provider_call(self):
        release = threading.Event()
        self.addCleanup(release.set)
        self.fake.script("openai", [base.TextDelta("partial"), Wait(release),
                                    base.TextDelta(" never"), base.Finish("stop")])
        response = self.post_generate(self.thread, "long question", stream=True)
        lines = response.iter_lines()
        for line in lines:
            if line.startswith(b"event: text_delta"):
                break
        self.assertEqual(self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/stop", {}),
                         {"stopping": True})
        events = parse_sse(lines)
        self.assertTrue(self.fake.requests[-1].disconnected.wait(WAIT),
                        "the upstream connection is closed, not left running")
        self.env.invalidate_all()
        self.assertTrue(dict(events)["message_final"]["stopped"])
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(), "partial")
        self.assertEqual(self.thread.generation_state, "idle")
