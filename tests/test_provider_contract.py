"""Contract tests: every wire module against the fake provider, over real HTTP.

:class:`ProviderContract` holds what every format must do (stream shapes, faults, retries,
cancellation); one class a format runs it and adds that format's own request rules.
"""

import dataclasses
import json
import socket
import threading

from odoo.tests import TransactionCase, tagged

from ..providers import (CancelToken, ChatMessage, ChatOptions, Finish, ModelInfo,
                         ProviderConfig, ProviderError, ReasoningDelta, Retrying, RetryPolicy,
                         TextDelta, ToolCall, ToolCallEvent, ToolSpec, Usage, get_provider)
from ..providers.anthropic import rejoin_prefill
from ..providers.openai import OpenAIProvider
from .fake_provider import (CHAT_ROUTES, RENDERERS, Cut, FakeProviderCase, Ping, Raw, Refusal,
                            StreamError, StreamedToolCall, Unresponsive, Wait,
                            anthropic_prefill_error, refused_url)

WEATHER = ToolSpec("get_weather", "Weather of a city",
                   {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]})
CONVERSATION = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Weather in Paris and Rome?"),
    ChatMessage("assistant", "Let me look.", tool_calls=(
        ToolCall("call_1", "get_weather", {"city": "Paris"}),
        ToolCall("call_2", "get_weather", {"city": "Rome"}))),
    ChatMessage("tool", '{"temp": 21}', tool_call_id="call_1", name="get_weather"),
    ChatMessage("tool", "city unknown", tool_call_id="call_2", name="get_weather",
                is_error=True),
    ChatMessage("assistant", "Paris: 21°C; Rome: unknown."),
    ChatMessage("user", "Thanks"),
]


class ProviderContract(FakeProviderCase):
    """Mixed into one TransactionCase a format; ``fmt`` is the fake's format name."""

    # Odoo's loader only collects a class's own test methods unless told otherwise.
    allow_inherited_tests_method = True
    fmt = ""
    api_format = ""
    # A frame the format's parser cannot read, and one it must skip as unknown.
    bad_frame = b""
    unknown_frame = b""
    context_error = ("", None)  # (the provider's message, its error code)
    # How the format says an answer was cut by the token limit.
    cut_frame = b""
    # (input, output) counts a failure keeps, of a stream that counted 25 in and 3 out: after
    # an in-stream error, and after a cut body.
    counts_on_error = (None, None)
    counts_on_cut = (None, None)
    # Whether a Claude 4.5 continues a final assistant message (a prefill) in this format.
    prefills = False

    fake_api_key = "sk-test"

    def setUp(self):
        super().setUp()
        self.sleeps = []

    def config(self, **overrides):
        config = ProviderConfig(
            name="Fake", api_format=self.api_format or self.fmt,
            base_url=self.fake.base_url(self.fmt), api_key="sk-test",
            azure_api_version="2024-10-21" if self.fmt == "azure" else "",
            timeout=10.0, retry=RetryPolicy(sleep=self.sleeps.append))
        return dataclasses.replace(config, **overrides)

    def stream(self, steps=None, messages=None, tools=(), options=ChatOptions(), cancel=None,
               model="fake-model", **overrides):
        """The events of one chat call, after queueing ``steps`` (if any) for it."""
        if steps is not None:
            self.fake.script(self.fmt, steps)
        provider = get_provider(self.config(**overrides))
        return list(provider.chat(model, messages or [ChatMessage("user", "Hi")],
                                  tools, options, cancel))

    def assertFails(self, kind, *fragments, steps=None, detail=None, **overrides):
        """The chat call fails with ``kind``, a one-sentence message holding ``fragments``
        and, if given, the provider's own words as the error's ``detail``."""
        with self.assertRaises(ProviderError) as caught:
            self.stream(steps, **overrides)
        error = caught.exception
        self.assertEqual(error.kind, kind, error.message)
        for fragment in fragments:
            self.assertIn(fragment, error.message)
        self.assertTrue(error.message.endswith(".") and ". " not in error.message
                        and ".." not in error.message, f"one sentence: {error.message}")
        if detail is not None:
            self.assertEqual(error.detail, detail)
            self.assertNotIn(detail, error.message)
        return error

    @property
    def label(self):
        return get_provider(self.config()).label

    # Streams -----------------------------------------------------------------------------

    def test_text_reasoning_usage_finish(self):
        events = self.stream([ReasoningDelta("Short "), ReasoningDelta("question."),
                              TextDelta("Hel"), TextDelta("lo!"), Usage(12, 3),
                              Finish("stop")])
        self.assertEqual(events, [ReasoningDelta("Short "), ReasoningDelta("question."),
                                  TextDelta("Hel"), TextDelta("lo!"), Usage(12, 3),
                                  Finish("stop")])

    def test_the_next_call_reuses_the_connection(self):
        """A finished answer hands its connection back to the pool: the next model call (the
        next message, the next turn of a tool loop) pays no new TCP and TLS handshake, about
        a round trip or three to the provider's region."""
        for text in ("One", "Two"):
            self.stream([TextDelta(text), Usage(3, 1), Finish("stop")])
        first, second = self.fake.requests[-2:]
        self.assertEqual(second.client_port, first.client_port, "one kept-alive connection")

    def test_a_server_silent_after_the_end_mark_does_not_hold_the_answer(self):
        """What follows the end mark is only read to keep the connection: a server that then
        sends nothing more costs its connection, not an error."""
        release = threading.Event()
        self.addCleanup(release.set)
        events = self.stream([TextDelta("Done"), Usage(3, 1), Finish("stop"), Wait(release)])
        self.assertEqual(events, [TextDelta("Done"), Usage(3, 1), Finish("stop")])

    def test_prefill_only_where_documented(self):
        """Elsewhere the caller asks the model in words to continue (engine/generation.py)."""
        messages = [ChatMessage("user", "Write"), ChatMessage("assistant", "Once upon a")]
        self.assertEqual(get_provider(self.config()).supports_prefill(
            "claude-sonnet-4-5", messages, ChatOptions()), self.prefills)

    def test_tool_calls_from_fragments(self):
        events = self.stream([
            TextDelta("Checking."),
            StreamedToolCall("call_a", "get_weather", '{"city": "Paris", "unit": "C"}', 5),
            StreamedToolCall("call_b", "get_weather", '{"city": "Rome"}', 3),
            Usage(40, 20), Finish("tool_calls")], tools=[WEATHER])
        calls = [event.call for event in events if isinstance(event, ToolCallEvent)]
        self.assertEqual([call.name for call in calls], ["get_weather", "get_weather"])
        self.assertEqual([call.arguments for call in calls],
                         [{"city": "Paris", "unit": "C"}, {"city": "Rome"}])
        self.assertEqual(events[-2:], [Usage(40, 20), Finish("tool_calls")])

    def test_tool_call_without_arguments(self):
        events = self.stream([StreamedToolCall("call_a", "get_weather", "", 1), Finish("tool_calls")],
                             tools=[WEATHER])
        self.assertEqual(events[0].call.arguments, {})

    def test_frames_cut_anywhere(self):
        steps = [TextDelta("Hé "), StreamedToolCall("c", "get_weather", '{"city": "Zürich"}'),
                 Usage(5, 6), Finish("tool_calls")]
        expected = self.stream(steps, tools=[WEATHER])
        for size in (1, 3, 7, 64):
            self.fake.script(self.fmt, steps, chunk_size=size)
            self.assertEqual(self.stream(tools=[WEATHER]), expected, f"chunks of {size} bytes")

    def test_cut_answer(self):
        """An answer cut by the token limit finishes with "length", its counts kept."""
        steps = [TextDelta("Once upon"), Usage(10, 2), Finish("length")]
        self.assertIn(self.cut_frame, b"".join(RENDERERS[self.fmt](steps, "m").frames()))
        self.assertEqual(self.stream(steps),
                         [TextDelta("Once upon"), Usage(10, 2), Finish("length")])

    def test_counts_kept_when_the_stream_fails(self):
        error = self.assertFails("server", "reported an error while answering", detail="Gone",
                                 steps=[TextDelta("Hel"), Usage(25, 3),
                                        StreamError("Gone", "server_error")])
        self.assertEqual((error.input_tokens, error.output_tokens), self.counts_on_error)

    def test_counts_kept_when_the_stream_is_cut(self):
        error = self.assertFails("protocol", "closed the answer before its end",
                                 steps=[TextDelta("Hel"), Usage(25, 3), Cut()])
        self.assertEqual((error.input_tokens, error.output_tokens), self.counts_on_cut)

    def test_unknown_frames_are_skipped(self):
        events = self.stream([Raw(self.unknown_frame), Ping(), TextDelta("ok"),
                              Finish("stop")])
        self.assertEqual(events, [TextDelta("ok"), Usage(0, 0), Finish("stop")])

    def test_list_models(self):
        self.fake.models(self.fmt, ["alpha-1", "embed-small"])
        models = get_provider(self.config()).list_models()
        self.assertEqual([(model.api_id, model.use) for model in models],
                         [("alpha-1", "chat"), ("embed-small", "embedding")])
        self.assertTrue(all(isinstance(model, ModelInfo) for model in models))

    # HTTP errors -------------------------------------------------------------------------

    def test_bad_key(self):
        self.fake.fail(self.fmt, 401, "Incorrect API key provided")
        error = self.assertFails("auth", f"{self.label} rejected the API key (HTTP 401); "
                                         "check the API key in LLM > Configuration > Providers.",
                                 detail="Incorrect API key provided")
        self.assertEqual(error.status, 401)
        self.assertIn("%(managers)s", error.ask_template)

    def test_forbidden(self):
        self.fake.fail(self.fmt, 403, "Your key may not use this model.")
        self.assertFails("auth", "refused access (HTTP 403); check that the API key",
                         detail="Your key may not use this model.")

    def test_unknown_model(self):
        self.fake.fail(self.fmt, 404, "The model `fake-model` does not exist")
        self.assertFails("not_found", 'does not know the model "fake-model" (HTTP 404)',
                         "fetch the provider's models",
                         detail="The model `fake-model` does not exist")

    def test_wrong_base_url(self):
        self.fake.reply(*CHAT_ROUTES[self.fmt], 404,
                        body="<html><body>Not Found</body></html>")
        self.assertFails("not_found", "has nothing at", "check the base URL and the API format")
        # A server that takes no such request there: at once, not retried as a server error.
        for status in (405, 501):
            sent = len(self.fake.requests)
            self.fake.reply(*CHAT_ROUTES[self.fmt], status, body="Unsupported method ('POST')")
            self.assertFails("not_found", "has nothing at")
            self.assertEqual(len(self.fake.requests), sent + 1, f"HTTP {status}: asked once")

    def test_bad_request_keeps_provider_message(self):
        self.fake.fail(self.fmt, 400, "temperature: must be at most 2")
        self.assertFails("bad_request", "rejected the request (HTTP 400)",
                         detail="temperature: must be at most 2")

    def test_context_too_long(self):
        message, code = self.context_error
        self.fake.fail(self.fmt, 400, message, code=code)
        self.assertFails("bad_request", "the conversation is too long",
                         "start a new conversation", detail=message)

    def test_rate_limit_retried_honouring_retry_after(self):
        self.fake.fail(self.fmt, 429, "Rate limit reached", headers={"Retry-After": "3"})
        self.fake.fail(self.fmt, 429, "Rate limit reached")
        events = self.stream([TextDelta("at last"), Finish("stop")])
        # Retry-After first, then the doubling back-off of the second retry, each announced.
        self.assertEqual(events[:3], [Retrying(3.0, "rate_limit"), Retrying(2.0, "rate_limit"),
                                      TextDelta("at last")])
        self.assertEqual(self.sleeps, [3.0, 2.0])
        self.assertEqual(len(self.fake.requests), 3)

    def test_rate_limit_gives_up_after_bounded_wait(self):
        self.fake.fail(self.fmt, 429, "Rate limit reached", times=None)
        error = self.assertFails("rate_limit", "still limiting the request rate after 4 retries "
                                               "over 15 seconds (HTTP 429); wait a minute",
                                 detail="Rate limit reached")
        self.assertEqual(self.sleeps, [1.0, 2.0, 4.0, 8.0])
        self.assertFalse(error.retryable)

    def test_total_wait_is_bounded(self):
        self.fake.fail(self.fmt, 429, "Slow down", headers={"Retry-After": "20"}, times=None)
        self.assertFails("rate_limit", "after 2 retries over 40 seconds",
                         retry=RetryPolicy(sleep=self.sleeps.append, max_total_wait=50))
        self.assertEqual(self.sleeps, [20.0, 20.0])

    def test_retry_after_beyond_budget_fails_at_once(self):
        self.fake.fail(self.fmt, 429, "Try tomorrow", headers={"Retry-After": "86400"})
        self.assertFails("rate_limit", "limiting the request rate (HTTP 429); wait a minute",
                         detail="Try tomorrow")
        self.assertEqual(self.sleeps, [])

    def test_server_error_retried_before_first_token(self):
        self.fake.fail(self.fmt, 503, "Service unavailable")
        self.fake.fail(self.fmt, 500, "Internal error")
        events = self.stream([TextDelta("fine"), Finish("stop")])
        self.assertEqual(events[:3], [Retrying(1.0, "server"), Retrying(2.0, "server"),
                                      TextDelta("fine")])
        self.assertEqual(self.sleeps, [1.0, 2.0])

    def test_server_error_gives_up(self):
        self.fake.fail(self.fmt, 502, "Bad gateway", times=None)
        self.assertFails("server", "still had a server error after 4 retries", "(HTTP 502)",
                         "try again in a few minutes", detail="Bad gateway")

    def test_no_retry_after_first_token(self):
        self.fake.script(self.fmt, [TextDelta("Hel"), Cut()])
        provider = get_provider(self.config())
        received = []
        with self.assertRaises(ProviderError) as caught:
            for event in provider.chat("fake-model", [ChatMessage("user", "Hi")]):
                received.append(event)
        self.assertEqual(received, [TextDelta("Hel")])
        self.assertEqual(caught.exception.kind, "protocol")
        self.assertIn(f"{self.label} closed the answer before its end; try again.",
                      caught.exception.message)
        self.assertEqual(len(self.fake.requests), 1, "a started answer is never retried")

    def test_stream_error_after_text(self):
        self.assertFails("server", "reported an error while answering; try again.",
                         detail="Overloaded", steps=[TextDelta("Hel"), StreamError("Overloaded")])
        self.assertEqual(len(self.fake.requests), 1)

    # Malformed answers -------------------------------------------------------------------

    def test_malformed_frame(self):
        error = self.assertFails("protocol", f"{self.label} sent a malformed answer; try again",
                                 steps=[TextDelta("a"), Raw(self.bad_frame), Finish("stop")])
        self.assertIn("invalid JSON", error.detail)

    def test_clean_end_before_finish(self):
        self.assertFails("protocol", "closed the answer before its end",
                         steps=[TextDelta("Hel")])

    def test_empty_answer(self):
        self.assertFails("protocol", "returned an empty answer", "rephrase",
                         steps=[Usage(5, 0), Finish("stop")])

    def test_reasoning_only_is_empty(self):
        self.assertFails("protocol", "returned an empty answer",
                         steps=[ReasoningDelta("Thinking..."), Finish("stop")])

    def test_tool_arguments_not_json(self):
        self.assertFails("protocol", 'called the tool "get_weather" with arguments that are '
                                     "not valid JSON",
                         steps=[StreamedToolCall("c", "get_weather", '{"city": "Par'),
                                Finish("tool_calls")], tools=[WEATHER])

    # Transport -------------------------------------------------------------------------

    def test_connection_refused(self):
        url = refused_url()
        error = self.assertFails("connection", "refused the connection", "check the base URL",
                                 base_url=url + ("/v1" if self.fmt == "openai" else ""))
        self.assertIn("Connection refused", error.detail)
        self.assertNotIn(" object at 0x", error.detail)

    def test_unknown_host(self):
        self.assertFails("connection", 'the host "llm-provider.invalid" cannot be found',
                         base_url="http://llm-provider.invalid")

    def test_connect_timeout(self):
        with Unresponsive() as server:
            self.assertFails("timeout", "did not accept a connection within 0.2 seconds",
                             base_url=server.url, timeout=0.2)

    def test_stalled_stream_times_out(self):
        gate = threading.Event()
        self.addCleanup(gate.set)
        self.fake.script(self.fmt, [TextDelta("Hel"), Wait(gate), Finish("stop")])
        received = []
        with self.assertRaises(ProviderError) as caught:
            for event in get_provider(self.config(timeout=0.2)).chat(
                    "fake-model", [ChatMessage("user", "Hi")]):
                received.append(event)
        self.assertEqual(received, [TextDelta("Hel")])
        self.assertEqual(caught.exception.kind, "timeout")
        self.assertIn("stopped answering for 0.2 seconds", caught.exception.message)

    def test_slow_stream_completes(self):
        """Pauses shorter than the timeout are no fault."""
        gate = threading.Event()
        self.fake.script(self.fmt, [TextDelta("Hel"), Wait(gate), TextDelta("lo"),
                                    Finish("stop")])
        events = get_provider(self.config()).chat("fake-model", [ChatMessage("user", "Hi")])
        self.assertEqual(next(events), TextDelta("Hel"))
        gate.set()
        self.assertEqual(next(events), TextDelta("lo"))
        self.assertEqual(list(events)[-1], Finish("stop"))

    def test_cancel_closes_the_connection_at_once(self):
        gate = threading.Event()
        self.addCleanup(gate.set)
        self.fake.script(self.fmt, [TextDelta("Hel"), Wait(gate), TextDelta("lo"),
                                    Finish("stop")])
        cancel = CancelToken()
        first, outcome = threading.Event(), []

        def consume():
            try:
                # A read timeout of minutes: only the cancellation can end this read.
                for _event in get_provider(self.config(timeout=300)).chat(
                        "fake-model", [ChatMessage("user", "Hi")], cancel=cancel):
                    first.set()
            except ProviderError as error:
                outcome.append(error)

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        self.assertTrue(first.wait(10))
        cancel.cancel()
        reader.join(10)
        self.assertFalse(reader.is_alive(), "the blocked read returned")
        self.assertEqual(outcome[0].kind, "cancelled")
        self.assertEqual(outcome[0].message, f"The request to {self.label} was cancelled.")
        self.assertTrue(self.fake.requests[0].disconnected.wait(10),
                        "the server saw the connection close")

    def test_cancelled_before_sending(self):
        cancel = CancelToken()
        cancel.cancel()
        self.assertFails("cancelled", "was cancelled", cancel=cancel)
        self.assertEqual(self.fake.requests, [])

    def test_cancel_interrupts_retry_wait(self):
        cancel = CancelToken()
        self.fake.fail(self.fmt, 429, "Rate limit reached", headers={"Retry-After": "30"})
        self.assertFails("cancelled", "was cancelled", cancel=cancel,
                         retry=RetryPolicy(sleep=lambda seconds: cancel.cancel()))
        self.assertEqual(len(self.fake.requests), 1)

    def test_cancel_interrupts_the_real_back_off(self):
        """Without an injected sleep the back-off waits on the token: a cancel ends it."""
        cancel = CancelToken()
        self.fake.fail(self.fmt, 429, "Rate limit reached", headers={"Retry-After": "30"})

        def cancel_after_the_answer():
            self.fake.wait_for_requests(1)[0].finished.wait(10)
            cancel.cancel()

        canceller = threading.Thread(target=cancel_after_the_answer, daemon=True)
        canceller.start()
        self.assertFails("cancelled", "was cancelled", cancel=cancel, retry=RetryPolicy())
        canceller.join(10)
        self.assertEqual(len(self.fake.requests), 1)

    def test_dropping_the_iterator_closes_the_connection(self):
        gate = threading.Event()
        self.addCleanup(gate.set)
        self.fake.script(self.fmt, [TextDelta("Hel"), Wait(gate), Finish("stop")])
        events = get_provider(self.config()).chat("fake-model", [ChatMessage("user", "Hi")])
        self.assertEqual(next(events), TextDelta("Hel"))
        events.close()
        self.assertTrue(self.fake.requests[0].disconnected.wait(10))


@tagged("post_install", "-at_install")
class TestOpenAIContract(ProviderContract, TransactionCase):
    fmt = "openai"
    bad_frame = b'data: {"id": "chatcmpl-1", "choices": [{"delta": {"content": "x"\n\n'
    unknown_frame = (b'data: {"id": "chatcmpl-1", "object": "chat.completion.chunk", '
                     b'"choices": [], "service_tier": "default", "obfuscation": "x"}\n\n'
                     b'event: future\ndata: {"choices": []}\n\n')
    context_error = ("This model's maximum context length is 128000 tokens. However, your "
                     "messages resulted in 130532 tokens.", "context_length_exceeded")
    cut_frame = b'"finish_reason": "length"'
    # OpenRouter sends the usage so far in its error chunk; a cut body has none.
    counts_on_error = (25, 3)

    def test_a_kept_connection_dropped_while_idle_is_replaced_at_once(self):
        """A provider, or a proxy between, may close an idle kept-alive connection without a
        word: the next call finds it dead as its request goes out, and is sent again at once
        on a new connection, instead of failing."""
        body = (b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}, '
                b'"finish_reason": "stop"}]}\n\ndata: [DONE]\n\n')
        answer = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body)) + body
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        connections = []

        def serve():
            kept, _address = listener.accept()
            connections.append(kept)
            kept.recv(65536)
            kept.sendall(answer)  # the first call; the connection is kept
            kept.recv(65536)
            kept.close()  # dropped as the second call comes, before any answer
            fresh, _address = listener.accept()
            connections.append(fresh)
            fresh.recv(65536)
            fresh.sendall(answer)
            fresh.close()

        threading.Thread(target=serve, daemon=True).start()
        provider = get_provider(ProviderConfig(
            name="Idle", api_format="openai", api_key="k", timeout=5.0,
            base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1"))
        for _call in range(2):
            events = list(provider.chat("m", [ChatMessage("user", "Hi")]))
            self.assertEqual(events[0], TextDelta("Hi"))
        self.assertEqual(len(connections), 2, "the dead connection replaced by one new one")

    def test_request(self):
        self.stream([TextDelta("ok"), Finish("stop")], messages=CONVERSATION, tools=[WEATHER],
                    options=ChatOptions(temperature=0.2, max_tokens=300))
        request = self.fake.requests[0]
        self.assertEqual((request.method, request.path), ("POST", "/v1/chat/completions"))
        self.assertEqual(request.headers["authorization"], "Bearer sk-test")
        body = request.json
        self.assertEqual(body["stream_options"], {"include_usage": True})
        self.assertIs(body["stream"], True)
        # A compatible server (not api.openai.com) gets the classic max_tokens.
        self.assertEqual((body["temperature"], body["max_tokens"]), (0.2, 300))
        self.assertEqual(body["tools"], [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather of a city",
            "parameters": WEATHER.parameters}}])
        self.assertEqual(body["messages"], [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
            {"role": "tool", "tool_call_id": "call_2", "content": "city unknown"},
            {"role": "assistant", "content": "Paris: 21°C; Rome: unknown."},
            {"role": "user", "content": "Thanks"},
        ])

    def test_official_api_takes_max_completion_tokens(self):
        provider = OpenAIProvider(self.config(base_url="https://api.openai.com/v1"))
        body = provider.request_body("o4-mini", [ChatMessage("user", "Hi")], [],
                                     ChatOptions(max_tokens=50))
        self.assertEqual(body["max_completion_tokens"], 50)
        self.assertNotIn("max_tokens", body)
        self.assertEqual(provider.label, "OpenAI (Fake)")

    def test_interleaved_tool_fragments_assembled_by_index(self):
        def chunk(delta, finish=None):
            return Raw("data: %s\n\n" % json.dumps({"choices": [
                {"index": 0, "delta": delta, "finish_reason": finish}]}))

        events = self.stream([
            chunk({"tool_calls": [{"index": 1, "id": "b",
                                   "function": {"name": "g", "arguments": ""}}]}),
            chunk({"tool_calls": [{"index": 0, "id": "a",
                                   "function": {"name": "f", "arguments": '{"x"'}}]}),
            chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
            chunk({}, "tool_calls"),
            Raw(b"data: [DONE]\n\n")])
        self.assertEqual([event.call for event in events[:2]],
                         [ToolCall("a", "f", {"x": 1}), ToolCall("b", "g", {})])

    def test_reasoning_field_of_openrouter_and_ollama(self):
        events = self.stream([
            Raw(b'data: {"choices": [{"index": 0, "delta": {"reasoning": "Hmm"}}]}\n\n'),
            TextDelta("Yes"), Finish("stop")])
        self.assertEqual(events[:2], [ReasoningDelta("Hmm"), TextDelta("Yes")])

    def test_real_key_check(self):
        self.assertFails("auth", "OpenAI-compatible server (Fake) rejected the API key (HTTP 401)",
                         api_key="sk-wrong")

    def test_refusal_is_the_answer(self):
        """A refusal streams in ``delta.refusal`` and finishes with "stop": it is the answer,
        finishing with "refusal", its usage kept."""
        events = self.stream([Refusal("I'm sorry, "), Refusal("I can't help with that."),
                              Usage(20, 8), Finish("stop")])
        self.assertEqual(events, [TextDelta("I'm sorry, "), TextDelta("I can't help with that."),
                                  Usage(20, 8), Finish("refusal")])

    def test_compatible_server_error_chunk(self):
        self.assertFails("server", "reported an error while answering", detail="Upstream failed",
                         steps=[StreamError("Upstream failed", "server_error")])
        self.assertEqual(len(self.fake.requests), 1, "not retried: the error may be permanent")


@tagged("post_install", "-at_install")
class TestAzureOpenAIContract(ProviderContract, TransactionCase):
    fmt = "azure"
    api_format = "openai"
    bad_frame = TestOpenAIContract.bad_frame
    unknown_frame = TestOpenAIContract.unknown_frame
    context_error = TestOpenAIContract.context_error
    cut_frame = TestOpenAIContract.cut_frame
    counts_on_error = TestOpenAIContract.counts_on_error

    def test_request(self):
        self.stream([TextDelta("ok"), Finish("stop")],
                    options=ChatOptions(max_tokens=100))
        request = self.fake.requests[0]
        self.assertEqual(request.path, "/openai/deployments/fake-model/chat/completions")
        self.assertEqual(request.query, {"api-version": "2024-10-21"})
        self.assertEqual(request.headers["api-key"], "sk-test")
        self.assertNotIn("authorization", request.headers)
        self.assertEqual(request.json["max_completion_tokens"], 100)
        self.assertEqual(self.label, "Azure OpenAI (Fake)")

    def test_resource_url_with_openai_path(self):
        self.stream([TextDelta("ok"), Finish("stop")],
                    base_url=self.fake.root_url + "/openai/")
        self.assertEqual(self.fake.requests[0].path,
                         "/openai/deployments/fake-model/chat/completions")

    def test_list_models_keeps_chat_and_embeddings(self):
        self.fake.reply("GET", "/openai/models", json_body={"data": [
            {"id": "gpt-4o", "capabilities": {"chat_completion": True, "embeddings": False}},
            {"id": "text-embedding-3-small",
             "capabilities": {"chat_completion": False, "embeddings": True}},
            {"id": "dall-e-3", "capabilities": {"chat_completion": False, "embeddings": False}},
        ], "object": "list"})
        models = get_provider(self.config()).list_models()
        self.assertEqual([(model.api_id, model.use) for model in models],
                         [("gpt-4o", "chat"), ("text-embedding-3-small", "embedding")])
        self.assertEqual(self.fake.requests[0].query, {"api-version": "2024-10-21"})


@tagged("post_install", "-at_install")
class TestAnthropicContract(ProviderContract, TransactionCase):
    fmt = "anthropic"
    bad_frame = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0\n\n'
    unknown_frame = (b'event: future_event\ndata: {"type": "future_event", "x": 1}\n\n'
                     b'event: content_block_start\ndata: {"type": "content_block_start", '
                     b'"index": 9, "content_block": {"type": "future_block"}}\n\n')
    context_error = ("prompt is too long: 210000 tokens > 200000 maximum", None)
    cut_frame = b'"stop_reason": "max_tokens"'
    # message_start counted the input; the output count comes only in message_delta.
    counts_on_error = counts_on_cut = (25, None)
    prefills = True

    def test_request(self):
        self.stream([TextDelta("ok"), Finish("stop")], messages=CONVERSATION, tools=[WEATHER],
                    options=ChatOptions(temperature=0.3, max_tokens=500))
        request = self.fake.requests[0]
        self.assertEqual(request.path, "/v1/messages")
        self.assertEqual(request.headers["x-api-key"], "sk-test")
        self.assertEqual(request.headers["anthropic-version"], "2023-06-01")
        body = request.json
        self.assertEqual((body["system"], body["max_tokens"], body["temperature"]),
                         ("Be brief.", 500, 0.3))
        self.assertEqual(body["tools"], [{"name": "get_weather", "description": "Weather of a city",
                                          "input_schema": WEATHER.parameters}])
        self.assertEqual(body["messages"], [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather",
                 "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather",
                 "input": {"city": "Rome"}}]},
            # Both results in one user turn, the failed one flagged.
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": '{"temp": 21}'},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "city unknown",
                 "is_error": True}]},
            {"role": "assistant", "content": [{"type": "text",
                                               "text": "Paris: 21°C; Rome: unknown."}]},
            {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
        ])

    def test_reasoning_effort_becomes_thinking_budget(self):
        self.stream([ReasoningDelta("Hmm"), TextDelta("ok"), Finish("stop")],
                    options=ChatOptions(temperature=0.3, reasoning_effort="medium",
                                        reasoning_model=True))
        body = self.fake.requests[0].json
        self.assertEqual(body["thinking"], {"type": "enabled", "budget_tokens": 4096})
        self.assertGreater(body["max_tokens"], 4096)
        self.assertNotIn("temperature", body, "thinking refuses a temperature")

    def test_no_thinking_inside_a_tool_loop(self):
        """Stored messages lack the signed thinking blocks the API wants back in a tool loop."""
        messages = CONVERSATION[:5]
        self.stream([TextDelta("ok"), Finish("stop")], messages=messages,
                    options=ChatOptions(reasoning_effort="high", reasoning_model=True))
        self.assertNotIn("thinking", self.fake.requests[0].json)

    def test_which_requests_take_a_prefill(self):
        provider = get_provider(self.config())
        cut = [ChatMessage("user", "Write"), ChatMessage("assistant", "Once upon a")]
        thinking = ChatOptions(reasoning_effort="low", reasoning_model=True)
        for model, messages, options, expected in (
                ("claude-sonnet-4-5", cut, ChatOptions(), True),
                ("claude-sonnet-4-5-20250929", cut, ChatOptions(), True),
                ("claude-opus-4-20250514", cut, ChatOptions(), True),
                ("claude-opus-4-1", cut, ChatOptions(), True),
                ("claude-3-7-sonnet-latest", cut, ChatOptions(), True),
                # Thinking is off for a model not marked Reasoning.
                ("claude-sonnet-4-5", cut, dataclasses.replace(thinking, reasoning_model=False),
                 True),
                # Claude 4.6 and later refuse prefills; an unknown model may.
                ("claude-sonnet-4-6", cut, ChatOptions(), False),
                ("claude-opus-4-7", cut, ChatOptions(), False),
                ("fake-model", cut, ChatOptions(), False),
                # Thinking wants the final assistant turn to start with a signed thinking block.
                ("claude-sonnet-4-5", cut, thinking, False),
                # Nothing to continue.
                ("claude-sonnet-4-5", cut[:1], ChatOptions(), False),
                ("claude-sonnet-4-5", [cut[0], ChatMessage("assistant", " \n")], ChatOptions(),
                 False)):
            with self.subTest(model=model, messages=messages, options=options):
                self.assertEqual(provider.supports_prefill(model, messages, options), expected)

    def test_prefill_goes_without_its_trailing_whitespace(self):
        """The API refuses a final assistant text ending with whitespace: it is sent without,
        and the answer's repeat of it is left out, the caller's text keeping it."""
        prefill = [ChatMessage("user", "Write"), ChatMessage("assistant", "Once upon a time, ")]
        events = self.stream([TextDelta(" and"), TextDelta(" the end."), Usage(9, 3),
                              Finish("stop")], prefill, model="claude-sonnet-4-5")
        self.assertEqual(self.fake.requests[0].json["messages"][-1], {
            "role": "assistant", "content": [{"type": "text", "text": "Once upon a time,"}]})
        self.assertEqual(events, [TextDelta("and"), TextDelta(" the end."), Usage(9, 3),
                                  Finish("stop")])

    def test_prefill_rejoined_without_doubling_or_losing_whitespace(self):
        for whitespace, deltas, expected in (
                (" ", [" and"], ["and"]),
                (" ", ["and"], ["and"]),  # the space stays in the caller's text
                ("\n\n", ["\n", "\nNext"], ["Next"]),
                ("\n\n", ["\nNext"], ["Next"]),
                ("\n", ["\n\nNext", " \n"], ["\nNext", " \n"]),
                ("\n\n", [" ", "Next"], [" ", "Next"]),
                ("\n", ["", "\n", "Next"], ["Next"])):
            with self.subTest(whitespace=whitespace, deltas=deltas):
                events = [*map(TextDelta, deltas), Finish("stop")]
                self.assertEqual(list(rejoin_prefill(events, whitespace)),
                                 [*map(TextDelta, expected), Finish("stop")])

    def test_the_fake_refuses_the_prefills_the_api_refuses(self):
        def error(model="claude-sonnet-4-5", text="Once upon a", **body):
            return anthropic_prefill_error({"model": model, "messages": [
                {"role": "user", "content": "Write"}, {"role": "assistant", "content": text}],
                **body})

        self.assertIsNone(error())
        self.assertEqual(error(text="Once upon a "),
                         "messages: final assistant content cannot end with trailing whitespace")
        self.assertIn("does not support assistant message prefill",
                      error(model="claude-opus-4-6"))
        self.assertIn("must start with a thinking block",
                      error(thinking={"type": "enabled", "budget_tokens": 1024}))
        # Through the server and the provider: the API's 400, its words kept.
        self.assertFails("bad_request", "rejected the request (HTTP 400)",
                         detail="This model does not support assistant message prefill. The "
                                "conversation must end with a user message.",
                         messages=[
                             ChatMessage("user", "Write"), ChatMessage("assistant", "Once")],
                         model="claude-sonnet-4-6")

    def test_overload_before_first_token_is_retried(self):
        self.fake.script(self.fmt, [StreamError("Overloaded", "overloaded_error")])
        events = self.stream([TextDelta("ok"), Finish("stop")])
        self.assertEqual(events[:2], [Retrying(1.0, "server"), TextDelta("ok")])
        self.assertEqual((self.sleeps, len(self.fake.requests)), ([1.0], 2))

    def test_refusal_stop_reason(self):
        events = self.stream([TextDelta("I can't discuss that."), Usage(9, 5), Finish("refusal")])
        self.assertEqual(events[-2:], [Usage(9, 5), Finish("refusal")])

    def test_cached_tokens_count_as_input(self):
        def event(payload):
            return Raw(f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n")

        events = self.stream([
            event({"type": "message_start", "message": {
                "id": "m", "type": "message", "role": "assistant", "content": [], "model": "x",
                "usage": {"input_tokens": 10, "cache_creation_input_tokens": 100,
                          "cache_read_input_tokens": 1000, "output_tokens": 1}}}),
            event({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
            event({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": "Hi"}}),
            event({"type": "content_block_stop", "index": 0}),
            event({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                   "usage": {"output_tokens": 7}}),
            event({"type": "message_stop"})])
        self.assertEqual(events, [TextDelta("Hi"), Usage(1110, 7), Finish("stop")])

    def test_real_key_and_version_checks(self):
        self.assertFails("auth", "Anthropic (Fake) rejected the API key (HTTP 401)",
                         api_key="sk-wrong")

    def test_list_models(self):
        self.fake.models(self.fmt, ["claude-sonnet-4-5"])
        self.assertEqual(get_provider(self.config()).list_models(), [ModelInfo(
            "claude-sonnet-4-5", "Claude-Sonnet-4-5", capabilities=frozenset({"tools", "vision"}))])

    def test_model_list_pages(self):
        self.fake.reply("GET", "/v1/models", json_body={
            "data": [{"type": "model", "id": "claude-b", "display_name": "Claude B"}],
            "has_more": True, "first_id": "claude-b", "last_id": "claude-b"})
        self.fake.models(self.fmt, ["claude-a"])
        models = get_provider(self.config()).list_models()
        self.assertEqual([model.api_id for model in models], ["claude-b", "claude-a"])
        self.assertEqual(models[0].capabilities, frozenset({"tools", "vision"}))
        self.assertEqual(self.fake.requests[1].query, {"limit": "1000", "after_id": "claude-b"})


@tagged("post_install", "-at_install")
class TestOllamaContract(ProviderContract, TransactionCase):
    fmt = "ollama"
    bad_frame = b'{"model": "m", "message": {"role": "assistant", "content": "x"\n'
    unknown_frame = (b'{"model": "m", "created_at": "2025-01-01T00:00:00Z", "future": 1, '
                     b'"done": false}\n')
    context_error = ("the input length exceeds the context length", None)
    cut_frame = b'"done_reason": "length"'

    def test_request(self):
        self.stream([TextDelta("ok"), Finish("stop")], messages=CONVERSATION, tools=[WEATHER],
                    options=ChatOptions(temperature=0.1, max_tokens=64, reasoning_effort="low",
                                        reasoning_model=True))
        request = self.fake.requests[0]
        self.assertEqual(request.path, "/api/chat")
        # Ollama takes no key; one set goes to the authenticating proxy in front of it.
        self.assertEqual(request.headers["authorization"], "Bearer sk-test")
        body = request.json
        self.assertEqual((body["options"], body["think"], body["stream"]),
                         ({"temperature": 0.1, "num_predict": 64}, True, True))
        self.assertEqual(body["tools"][0]["function"]["name"], "get_weather")
        self.assertEqual(body["messages"][2:5], [
            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
            {"role": "tool", "content": '{"temp": 21}', "tool_name": "get_weather"},
            {"role": "tool", "content": "city unknown", "tool_name": "get_weather"},
        ])
        self.assertEqual(body["messages"][0], {"role": "system", "content": "Be brief."})

    def test_model_not_pulled(self):
        self.fake.fail(self.fmt, 404, 'model "fake-model" not found, try pulling it first')
        self.assertFails("not_found", 'Ollama (Fake) does not know the model "fake-model"',
                         detail='model "fake-model" not found, try pulling it first')
