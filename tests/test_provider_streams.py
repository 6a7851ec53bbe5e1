"""Stream framing, error-body reading and Retry-After parsing of the provider layer."""

import json
from email.utils import format_datetime
from datetime import datetime, timezone

import requests

from odoo.tests import TransactionCase, tagged

from ..providers import ProviderConfig, ProviderError, get_provider
from ..providers.http import error_detail, parse_retry_after
from ..providers.streams import AnswerBuilder, SSEvent, iter_lines, iter_ndjson, iter_sse


def splits(body):
    """``body`` cut in two at every position, and in single bytes: how a network may cut it."""
    yield [body]
    for cut in range(1, len(body)):
        yield [body[:cut], body[cut:]]
    yield [body[i:i + 1] for i in range(len(body))]


def response(status, body, headers=None):
    result = requests.Response()
    result.status_code = status
    result._content = body.encode() if isinstance(body, str) else body
    result.headers.update(headers or {})
    result.reason = "Reason"
    return result


@tagged("post_install", "-at_install")
class TestProviderStreams(TransactionCase):

    def test_providers_share_one_cookieless_session(self):
        openai = get_provider(ProviderConfig(name="A", api_format="openai",
                                             base_url="https://api.openai.com/v1", api_key="k"))
        ollama = get_provider(ProviderConfig(name="B", api_format="ollama",
                                             base_url="http://localhost:11434"))
        session = openai.http.session
        self.assertIs(ollama.http.session, session, "connections are kept alive across calls")
        cookie = requests.cookies.create_cookie("__cf_bm", "one-users-cookie",
                                                domain="api.openai.com")
        request = requests.Request("GET", "https://api.openai.com/v1/models").prepare()
        self.assertFalse(session.cookies.get_policy().set_ok(
            cookie, requests.cookies.MockRequest(request)), "no cookie is kept between users")
        self.assertEqual(session.get_adapter("https://api.openai.com")._pool_maxsize, 256)

    def test_lines_with_every_terminator_and_cut(self):
        body = b"one\ntwo\r\nthree\rfour\r\n\r\nlast"
        for chunks in splits(body):
            self.assertEqual(list(iter_lines(chunks)),
                             [b"one", b"two", b"three", b"four", b"", b"last"], chunks)

    def test_sse_fields_as_the_spec_defines_them(self):
        body = (b": comment, a keep-alive\n"
                b"event: message_start\ndata: {\"a\": 1}\n\n"
                b"data: first line\ndata:second line\n\n"
                b"id: 7\nretry: 1000\ndata\n\n"  # "data" without colon: an empty data line
                b"event: ignored\n\n"  # no data: nothing dispatched
                b"data: [DONE]\r\n\r\n"
                b"data: cut before its blank line")
        expected = [SSEvent("message_start", '{"a": 1}'),
                    SSEvent("message", "first line\nsecond line"),
                    SSEvent("message", ""),
                    SSEvent("message", "[DONE]")]
        for chunks in splits(body):
            self.assertEqual(list(iter_sse(chunks)), expected)

    def test_sse_keeps_utf8_split_between_chunks(self):
        body = "data: café ☕\n\n".encode()
        for chunks in splits(body):
            self.assertEqual(list(iter_sse(chunks)), [SSEvent("message", "café ☕")])

    def test_ndjson(self):
        body = b'{"a": 1}\n\n{"b": 2}\r\n{"c": 3}'
        for chunks in splits(body):
            self.assertEqual(list(iter_ndjson(chunks, "P")), [{"a": 1}, {"b": 2}, {"c": 3}])
        with self.assertRaises(ProviderError) as caught:
            list(iter_ndjson([b'{"a": 1}\n[1, 2]\n'], "Ollama (local)"))
        self.assertEqual(caught.exception.kind, "protocol")
        self.assertIn("Ollama (local) sent a malformed answer", caught.exception.message)

    def test_answer_builder(self):
        answer = AnswerBuilder("P")
        self.assertEqual(answer.tool_call("c1", "now", "").call.arguments, {})
        self.assertEqual(answer.tool_call("c2", "now", None).call.arguments, {})
        with self.assertRaises(ProviderError) as caught:
            answer.tool_call("c3", "find", "[1]")
        self.assertIn('the tool "find" with arguments that are not valid JSON',
                      caught.exception.message)
        answer.set_usage(3, None)
        self.assertEqual([type(event).__name__ for event in answer.finish("stop")],
                         ["Usage", "Finish"])
        self.assertEqual(answer.finish("stop")[-1].reason, "tool_calls",
                         "tool calls then 'stop' (Ollama) is a tool-calls finish")
        with self.assertRaises(ProviderError) as caught:
            AnswerBuilder("P").finish("length")
        self.assertIn("empty answer (finish reason: length)", caught.exception.message)

    def test_error_detail_of_each_provider(self):
        cases = [
            ({"error": {"message": "This model's maximum context length is 128000 tokens.",
                        "type": "invalid_request_error", "param": "messages",
                        "code": "context_length_exceeded"}},
             ("This model's maximum context length is 128000 tokens.",
              "context_length_exceeded", True)),
            ({"type": "error", "error": {"type": "not_found_error", "message": "model: x"}},
             ("model: x", "not_found_error", True)),
            ({"error": "model \"llama9\" not found, try pulling it first"},
             ("model \"llama9\" not found, try pulling it first", "", True)),
            ({"object": "error", "message": "bad temperature", "type": "BadRequestError",
              "code": 400}, ("bad temperature", "400", True)),
            ({"detail": [{"loc": ["body", "x"], "msg": "extra"}]},
             (json.dumps([{"loc": ["body", "x"], "msg": "extra"}]), "", True)),
        ]
        for body, expected in cases:
            self.assertEqual(error_detail(response(400, json.dumps(body))), expected)
        # A web page (a base URL reaching a web server, a proxy's error page): what a person
        # reads of it, its title or its text, never its markup.
        self.assertEqual(error_detail(response(404, "<html>\n<b>Not   Found</b></html>")),
                         ("Not Found", "", False))
        odoo_404 = ("<!DOCTYPE html><html><head><title>404 | Page Not Found &amp; Co</title>"
                    "<style>body {color: red}</style><script>var x = '<b>';</script></head>"
                    "<body><h1>Oops</h1></body></html>")
        self.assertEqual(error_detail(response(404, odoo_404)),
                         ("404 | Page Not Found & Co", "", False))
        self.assertEqual(error_detail(response(502, "<html><style>p {}</style><p>Bad "
                                                    "&lt;gateway&gt;</p></html>")),
                         ("Bad <gateway>", "", False))
        self.assertEqual(error_detail(response(502, "")), ("Reason", "", False))
        self.assertLessEqual(len(error_detail(response(500, "x" * 5000))[0]), 500)

    def test_retry_after(self):
        now = 1_700_000_000.0

        def clock():
            return now

        later = format_datetime(datetime.fromtimestamp(now + 30, timezone.utc), usegmt=True)
        self.assertEqual(parse_retry_after({"retry-after": "7"}, clock), 7.0)
        self.assertEqual(parse_retry_after({"retry-after": "0.5"}, clock), 0.5)
        self.assertEqual(parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}, clock),
                         1.5)
        self.assertEqual(parse_retry_after({"retry-after": later}, clock), 30.0)
        self.assertIsNone(parse_retry_after({"retry-after": "soon"}, clock))
        self.assertIsNone(parse_retry_after({}, clock))
        self.assertEqual(parse_retry_after({"retry-after": "-3"}, clock), 0.0)
