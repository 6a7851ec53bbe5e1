import threading

from lxml import html as lxml_html

from odoo.tests import tagged

from ..providers import base, errors
from .engine_common import WAIT, WireCase, parse_sse
from .fake_provider import Refusal, StreamError, Wait


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
            "currency": self.env.company.currency_id.name, "model": "Scripted",
            "provider": "Scripted"})

    def test_question_reaches_the_model_as_typed(self):
        """Pasted code keeps its indentation and blank lines, and markup stays text: in the
        first call and in the history of the next one (both read the stored message)."""
        question = "Fix this:\n\ndef f(x):\n    if x < 2 and x > 0:\n        return '<b>'\n"
        for _answer in range(2):
            self.fake.script("openai", [base.TextDelta("Done."), base.Finish("stop")])
        self.generate(self.thread, question)
        self.assertEqual(self.fake.requests[-1].json["messages"][-1],
                         {"role": "user", "content": question})
        self.generate(self.thread, "And now?")
        sent = self.fake.requests[-1].json["messages"]
        self.assertEqual(sent[-3], {"role": "user", "content": question})

    def test_tools_only_for_a_model_marked_tools(self):
        """A model not marked Tools is asked without the conversation's tools (Ollama refuses a
        request with tools for a model without them); marked, it gets them."""
        self.assertTrue(self.thread.tool_names, "the conversation has tools")
        for _answer in range(2):
            self.fake.script("openai", [base.TextDelta("Done."), base.Finish("stop")])
        self.model.supports_tools = False
        self.generate(self.thread, "Hi")
        self.assertNotIn("tools", self.fake.requests[-1].json)
        self.model.supports_tools = True
        self.generate(self.thread, "Again")
        self.assertEqual(sorted(tool["function"]["name"] for tool in self.fake.requests[-1].json["tools"]),
                         sorted(self.thread.tool_names))

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

    # What the answer says about how it ended ------------------------------------------------

    def test_refusal_is_the_answer_marked_refusal(self):
        self.fake.script("openai", [Refusal("I can't help with that."), base.Usage(20, 8),
                                    base.Finish("stop")])
        _response, events = self.generate(self.thread, "Help me pick a lock")
        self.assertEqual(self.text(events), "I can't help with that.")
        self.assertEqual(dict(events)["message_final"]["finish_reason"], "refusal")
        self.assertNotIn("error", dict(events))
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(),
                         "I can't help with that.")
        self.assertEqual(assistant.body_json["finish_reason"], "refusal")
        self.assertEqual((assistant.body_json["usage"]["input_tokens"],
                          assistant.body_json["usage"]["output_tokens"]), (20, 8))
        self.assertNotIn("estimated", assistant.body_json["usage"])
        self.assertEqual(self.env["llm.usage"].search([("message_id", "=", assistant.id)])
                         .mapped("output_tokens"), [8])

    def test_cut_answer_is_marked_length_in_every_format(self):
        for fmt in ("openai", "anthropic", "ollama"):
            with self.subTest(fmt=fmt):
                self.use_format(fmt)
                self.fake.script(fmt, [base.TextDelta("Once upon a"), base.Usage(10, 3),
                                       base.Finish("length")])
                _response, events = self.generate(self.thread, f"A story ({fmt})")
                self.assertEqual(dict(events)["message_final"]["finish_reason"], "length")
                assistant = self.messages(self.thread, "assistant")[-1]
                self.assertEqual(assistant.body_json["finish_reason"], "length")
                self.assertEqual(assistant.body_json["usage"]["output_tokens"], 3)

    def test_provider_counts_kept_when_the_stream_fails(self):
        """OpenRouter sends its usage in the error chunk; Anthropic counted the input in
        message_start: those counts are stored, only what is missing is estimated."""
        for fmt, expected, estimated in (("openai", (25, 3), False),
                                         ("anthropic", (25, None), True)):
            with self.subTest(fmt=fmt):
                self.use_format(fmt)
                self.fake.script(fmt, [base.TextDelta("Partial answer"), base.Usage(25, 3),
                                       StreamError("Upstream failed", "server_error")])
                _response, events = self.generate(self.thread, f"Hi ({fmt})")
                error = dict(events)["error"]
                self.assertEqual(error["detail"], "Upstream failed")
                self.assertNotIn("Upstream failed", error["message"])
                assistant = self.messages(self.thread, "assistant")[-1]
                usage = assistant.body_json["usage"]
                self.assertEqual(usage["input_tokens"], expected[0])
                if expected[1] is not None:
                    self.assertEqual(usage["output_tokens"], expected[1])
                else:
                    self.assertGreater(usage["output_tokens"], 0, "estimated from the text")
                self.assertEqual(usage.get("estimated", False), estimated)
                self.assertEqual(assistant.body_json["error"]["detail"], "Upstream failed")
                self.assertEqual(dict(events)["usage"]["input_tokens"], 25)

    def test_back_off_is_announced(self):
        self.fake.fail("openai", 429, "Rate limit reached", headers={"Retry-After": "0"})
        self.fake.script("openai", [base.TextDelta("at last"), base.Finish("stop")])
        _response, events = self.generate(self.thread, "Hi")
        names = [name for name in self.names(events) if name != "heartbeat"]
        self.assertEqual(names[:3], ["message_created", "retrying", "message_created"])
        self.assertEqual(dict(events)["retrying"], {"seconds": 0.0, "code": "rate_limit"})
        self.assertEqual(self.text(events), "at last")

    # Error messages for who reads them ------------------------------------------------------

    def test_configuration_error_tells_a_user_whom_to_ask(self):
        manager = self.env.ref("base.user_admin")
        self.fake.fail("openai", 401, "Incorrect API key provided. You can find your key at "
                                      "https://platform.openai.com/account/api-keys.")
        _response, events = self.generate(self.thread, "Hi")
        error = dict(events)["error"]
        self.assertEqual(error["message"], (
            "OpenAI-compatible server (Scripted) rejected the API key (HTTP 401); ask an LLM "
            f"manager ({manager.name}) to check it."))
        self.assertTrue(error["detail"].startswith("Incorrect API key provided."))
        stored = self.messages(self.thread, "assistant").body_json["error"]
        self.assertEqual((stored["message"], stored["detail"]), (error["message"], error["detail"]))

    def test_configuration_error_tells_a_manager_where_to_fix_it(self):
        error = errors.bad_key("Scripted", status=401, detail="invalid x-api-key")
        provider = self.provider_record
        self.assertEqual(provider.with_user(self.env.ref("base.user_admin"))._error_message(error),
                         "Scripted rejected the API key (HTTP 401); check the API key in "
                         "LLM > Configuration > Providers.")
        self.assertEqual(provider.with_user(self.user_a)._error_message(error),
                         "Scripted rejected the API key (HTTP 401); ask an LLM manager "
                         f"({self.env.ref('base.user_admin').name}) to check it.")
        self.assertNotIn("x-api-key", provider.with_user(self.user_a)._error_message(error))
