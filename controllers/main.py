import logging
import socket

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..engine.protocol import ERROR_ALREADY_GENERATING, encode_sse
from ..engine.runtime import client_disconnected
from ..models.llm_thread import LlmBusyError, LlmMessageTooLong, check_input
from ..models.llm_thread_actions import LlmInvalidAction
from ..models.llm_thread_attachments import LlmAttachmentError

_logger = logging.getLogger(__name__)

SSE_HEADERS = [
    ("Cache-Control", "no-cache"),
    # nginx: pass each event on at once instead of buffering the response.
    ("X-Accel-Buffering", "no"),
]


def _use_selected_companies():
    """Run the request in the companies chosen in the web client's switcher, which keeps them
    in the ``cids`` cookie, the current one first (as mail's ``session_info`` reads it). These
    routes get no context from the client: without it, an answer ran in the user's default
    company with all of theirs allowed, so its usage, cost currency and budgets, and the
    models the user may pick, were another company's than the chat showed. A company the user
    no longer has is left out."""
    mine = request.env.user._get_company_ids()  # cached: no query on the send's way
    chosen = [int(cid) for cid in (request.cookies.get("cids") or "").split("-")
              if cid.isdigit() and int(cid) in mine]
    if chosen:
        request.update_context(allowed_company_ids=chosen)


def _json_error(status, code, message):
    return request.make_json_response({"error": {"code": code, "message": message}},
                                      status=status)


def _thread_route(action, **inputs):
    """Declare the JSON route ``/llm/thread/<id>/<action>`` for the thread's owner: the one
    place that checks what the chat's JSON routes receive. The endpoint is called with the
    thread (through the ownership gate) and its parameters, checked against ``inputs``
    (name -> kinds, see ``llm_thread.check_input``).

    Every refusal is a ``UserError`` (``AccessError`` for someone else's thread), which the
    web client shows in a dialog. Odoo logs those at WARNING unless the exception says
    otherwise (``loglevel``, odoo/http.py): a user's bad request is not a server problem, so
    they are logged at INFO."""
    def decorator(endpoint):
        # The route takes any parameter, so that an unexpected one is refused here, clearly,
        # instead of being dropped by Odoo with a warning.
        def route(self, thread_id, **params):
            _use_selected_companies()
            try:
                thread = request.env["llm.thread"]._llm_get_thread_with_access(thread_id)
                if not thread:
                    raise AccessError(request.env["llm.thread"]._llm_not_yours_message())
                result = endpoint(self, thread, **check_input(request.env, params, inputs))
                request.env.flush_all()  # constraints fail here, not at the commit
                return result
            except UserError as exc:
                exc.loglevel = logging.INFO
                raise
        route.__name__, route.__doc__ = endpoint.__name__, endpoint.__doc__
        return http.route(f"/llm/thread/<int:thread_id>/{action}", type="json", auth="user",
                          methods=["POST"])(route)
    return decorator


def _sse_response(events):
    """A streamed response of ``events`` ((event id, name, payload), ...), each sent at once.
    Closing it (the server does when the viewer went away) only detaches the viewer: the run
    goes on (engine/run.py)."""
    sock = _socket()
    if sock is not None:
        # Each event must leave at once: with Nagle's algorithm a small write waits for
        # the client's (delayed, ~40 ms) acknowledgement of the previous one.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a unix socket behind a proxy): nothing to tune
    body = (encode_sse(name, payload, event_id) for event_id, name, payload in events)
    return http.Response(body, status=200, headers=SSE_HEADERS,
                         mimetype="text/event-stream", direct_passthrough=True)


def _socket():
    return request.httprequest.environ.get("socket") \
        or request.httprequest.environ.get("werkzeug.socket")


def _viewer_gone():
    """A callable telling whether this request's client went away (never blocks)."""
    sock = _socket()
    return (lambda: client_disconnected(sock)) if sock is not None else None


class LlmThreadController(http.Controller):

    @http.route("/llm/thread/<int:thread_id>/generate", type="http", auth="user",
                methods=["POST"], readonly=False)
    def generate(self, thread_id, message=None, regenerate_message_id=None, edit_message_id=None,
                 continue_message_id=None, attachment_ids=None, **kwargs):
        """Start a generation and follow it as server-sent events (see engine/protocol.py);
        the generation is a run on the server (engine/run.py): a viewer leaving stops nothing,
        and ``/stream`` attaches again.

        The message comes in the POST body (form field ``message``), CSRF-checked by Odoo; the
        refusals that happen before streaming are JSON with an HTTP status (404 not yours,
        409 already generating, 413 too long, 400 not configured, invalid input or invalid
        action). ``regenerate_message_id`` / ``edit_message_id`` / ``continue_message_id``: see
        ``llm.thread._llm_prepare_run()``. ``attachment_ids``: comma-separated ids of the files the
        message carries, which may be all it has (400 ``invalid_attachment`` when refused, a model
        without vision too; 400 ``empty_message`` for a message with neither text nor files).
        """
        _use_selected_companies()
        thread = request.env["llm.thread"]._llm_get_thread_with_access(thread_id)
        if not thread:
            return _json_error(404, "not_found", thread._llm_not_yours_message())
        # Form fields are text: a message id is all digits.
        action_ids = {name: int(value) if value.isdigit() else value for name, value in (
            ("regenerate_message_id", regenerate_message_id),
            ("edit_message_id", edit_message_id),
            ("continue_message_id", continue_message_id)) if value}
        attachments = [int(value) if value.isdigit() else value
                       for value in (attachment_ids or "").split(",") if value]
        try:
            check_input(request.env, {"message": message}, {"message": ("text", "false")})
            check_input(request.env, action_ids, dict.fromkeys(action_ids, ("id",)))
            check_input(request.env, {"attachment_ids": attachments}, {"attachment_ids": ("ids",)})
        except UserError as exc:
            return _json_error(400, "invalid_input", exc.args[0])
        # A message field sent blank is a question with nothing in it (a retry sends none).
        if message is not None and not message.strip() and not attachments and not action_ids:
            return _json_error(400, "empty_message", request.env._(
                "Write a message, or attach a file, to send."))
        try:
            run = thread._llm_generate(message or None, attachment_ids=attachments,
                                       **action_ids)
        except LlmInvalidAction as exc:
            return _json_error(400, "invalid_action", exc.args[0])
        except LlmMessageTooLong as exc:
            return _json_error(413, "too_long", exc.args[0])
        except LlmAttachmentError as exc:
            return _json_error(400, "invalid_attachment", exc.args[0])
        except LlmBusyError as exc:
            return _json_error(409, ERROR_ALREADY_GENERATING, exc.args[0])
        except AccessError as exc:
            return _json_error(403, "forbidden", exc.args[0])
        except UserError as exc:
            return _json_error(400, "not_configured", exc.args[0])
        return _sse_response(run.follow(gone=_viewer_gone()))

    @http.route("/llm/thread/<int:thread_id>/stream", type="http", auth="user",
                methods=["GET"], readonly=True)
    def stream(self, thread_id, **kwargs):
        """Follow the thread's generation as server-sent events, wherever it runs: what it
        produced so far (compacted: the text so far in one event), then live, up to ``done``.
        With ``Last-Event-ID`` (the header, or the ``last_event_id`` parameter) only what came
        after that event; ``done`` at once when nothing runs (the stored messages are
        complete). Any number of viewers, in any tab or device; leaving stops nothing."""
        _use_selected_companies()
        thread = request.env["llm.thread"]._llm_get_thread_with_access(thread_id)
        if not thread:
            return _json_error(404, "not_found", thread._llm_not_yours_message())
        last_event_id = request.httprequest.headers.get("Last-Event-ID") \
            or kwargs.get("last_event_id")
        return _sse_response(thread._llm_follow(last_event_id, gone=_viewer_gone()))

    @http.route("/llm/thread/<int:thread_id>/attachment", type="http", auth="user",
                methods=["POST"])
    def attach(self, thread_id, ufile=None, **kwargs):
        """Upload a file (form field ``ufile``, CSRF-checked by Odoo) for the owner's next
        message: JSON ``{id, name, mimetype}``, or ``{error: {code, message}}`` with 404 (not
        yours) or 400 (no file, type, size, unreadable: see llm_thread_attachments.py).
        Not mail's upload route: that one lets whoever may post on the thread upload to it,
        this one only the owner, and checks what a model can read."""
        thread = request.env["llm.thread"]._llm_get_thread_with_access(thread_id)
        if not thread:
            return _json_error(404, "not_found", thread._llm_not_yours_message())
        if not hasattr(ufile, "read"):
            return _json_error(400, "invalid_input", request.env._("Choose a file to attach."))
        try:
            return request.make_json_response(
                # PostgreSQL cannot store a NUL character, whatever a client names its file.
                thread._llm_attach((ufile.filename or "").replace("\x00", "") or "file",
                                   ufile.read()))
        except LlmAttachmentError as exc:
            return _json_error(400, "invalid_attachment", exc.args[0])

    @_thread_route("stop")
    def stop(self, thread):
        """Stop the thread's generation, wherever it runs; returns whether one was running."""
        return {"stopping": thread.action_stop()}

    @_thread_route("update", values=("object",))
    def update(self, thread, values):
        """Write the whitelisted fields (``llm.thread._llm_client_writable``)."""
        thread.llm_update(values)
        return thread.read(sorted(set(thread._llm_client_writable) | {"generation_state"}))[0]

    @_thread_route("decide", call_id=("text",), approved=("bool",))
    def decide(self, thread, call_id, approved):
        """The owner approves or denies a tool call waiting for approval; returns every
        approval of the thread by call id. The client then continues the generation."""
        return thread._llm_decide(call_id, approved)
