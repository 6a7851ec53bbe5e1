import logging
import socket

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..models.llm_generation import client_disconnected
from ..models.llm_protocol import ERROR_ALREADY_GENERATING, encode_sse
from ..models.llm_thread import LlmBusyError, LlmMessageTooLong

_logger = logging.getLogger(__name__)

SSE_HEADERS = [
    ("Cache-Control", "no-cache"),
    # nginx: pass each event on at once instead of buffering the response.
    ("X-Accel-Buffering", "no"),
]


def _json_error(status, code, message):
    return request.make_json_response({"error": {"code": code, "message": message}},
                                      status=status)


def _sse(generation):
    """The SSE body. Closing it (the server does when the client went away) closes the
    generation, which saves the partial answer and releases the thread."""
    try:
        for name, payload in generation:
            yield encode_sse(name, payload)
    finally:
        generation.close()


class LlmThreadController(http.Controller):

    def _own_thread(self, thread_id):
        """The current user's thread, whoever they are (managers included): the chat only
        ever acts on its user's own conversations. ``None`` when it is someone else's."""
        return request.env["llm.thread"].search(
            [("id", "=", thread_id), ("user_id", "=", request.env.uid)])

    @http.route("/llm/thread/<int:thread_id>/generate", type="http", auth="user",
                methods=["POST"], readonly=False)
    def generate(self, thread_id, message=None, **kwargs):
        """Stream a generation as server-sent events (see models/llm_protocol.py).

        The message comes in the POST body (form field ``message``), CSRF-checked by Odoo; the
        refusals that happen before streaming are JSON with an HTTP status (404 not yours,
        409 already generating, 413 too long, 400 not configured).
        """
        thread = self._own_thread(thread_id)
        if not thread:
            return _json_error(404, "not_found", request.env._(
                "This conversation does not exist or is not yours."))
        try:
            generation = thread._llm_generate(message or None)
        except LlmMessageTooLong as exc:
            return _json_error(413, "too_long", exc.args[0])
        except LlmBusyError as exc:
            return _json_error(409, ERROR_ALREADY_GENERATING, exc.args[0])
        except AccessError as exc:
            return _json_error(403, "forbidden", exc.args[0])
        except UserError as exc:
            return _json_error(400, "not_configured", exc.args[0])
        sock = request.httprequest.environ.get("socket") \
            or request.httprequest.environ.get("werkzeug.socket")
        if sock is not None:
            generation.client_gone = lambda: client_disconnected(sock)
            # Each event must leave at once: with Nagle's algorithm a small write waits for
            # the client's (delayed, ~40 ms) acknowledgement of the previous one.
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # not TCP (a unix socket behind a proxy): nothing to tune
        return http.Response(_sse(generation), status=200, headers=SSE_HEADERS,
                             mimetype="text/event-stream", direct_passthrough=True)

    @http.route("/llm/thread/<int:thread_id>/stop", type="json", auth="user", methods=["POST"])
    def stop(self, thread_id):
        """Stop the thread's generation, wherever it runs; returns whether one was running."""
        thread = self._own_thread(thread_id)
        if not thread:
            raise AccessError(request.env._("This conversation does not exist or is not yours."))
        return {"stopping": thread.action_stop()}

    @http.route("/llm/thread/<int:thread_id>/update", type="json", auth="user", methods=["POST"])
    def update(self, thread_id, values):
        """Write the whitelisted fields (``llm.thread._llm_client_writable``)."""
        thread = self._own_thread(thread_id)
        if not thread:
            raise AccessError(request.env._("This conversation does not exist or is not yours."))
        thread.llm_update(values)
        return thread.read(sorted(thread._llm_client_writable | {"generation_state"}))[0]

    @http.route("/llm/thread/<int:thread_id>/decide", type="json", auth="user", methods=["POST"])
    def decide(self, thread_id, call_id, approved):
        """The owner approves or denies a tool call waiting for approval; returns every
        approval of the thread by call id. The client then continues the generation."""
        thread = self._own_thread(thread_id)
        if not thread:
            raise AccessError(request.env._("This conversation does not exist or is not yours."))
        return thread._llm_decide(call_id, bool(approved))
