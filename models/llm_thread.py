import logging
import uuid
import psycopg2
from babel.dates import format_date
from markupsafe import escape

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import html2plaintext
from odoo.tools.misc import babel_locale_parse, formatLang

from ..engine import claim, generation, hub, run, runtime
from ..engine.protocol import BUSY_STATES, GENERATION_STATE_NOTIFICATION, THREAD_LIST_NOTIFICATION
from ..engine.tokens import estimate_tokens, message_tokens
from ..engine.turn import message_text
from ..providers.base import ChatMessage, ToolCall

_logger = logging.getLogger(__name__)

# A message longer than this is refused with a clear error (about 25k tokens: more than most
# models answer usefully, far less than a request worth streaming to a provider by mistake).
MAX_MESSAGE_CHARS = 100_000
# A conversation's name is a title: the chat shortens it to 60 characters.
MAX_NAME_CHARS = 500
# PostgreSQL's integer ids: a larger id from a client is refused, never sent to the database.
MAX_ID = 2**31 - 1
DEFAULT_MAX_ITERATIONS = 8
# Runs taking turns (_llm_start(take_turns=True)) that ask their model at once, per process.
DEFAULT_RUNS_AT_ONCE = 4
DEFAULT_CONTEXT_WINDOW = 8192
# Tokens kept free for the answer when the model does not say how long its answers may be.
DEFAULT_ANSWER_RESERVE = 1024
# The linked record's description is capped so it never crowds out the conversation.
RECORD_DESCRIPTION_MAX_CHARS = 4000
RECORD_DESCRIPTION_MAX_FIELDS = 40
# A conversation named after its first message gets at most this many characters of it.
TITLE_MAX_CHARS = 60


# The generation's state on a thread (the claim, the stop flag, the last error).
SERVER_OWNED_FIELDS = frozenset({
    "generation_state", "generation_user_id", "generation_started_at", "generation_heartbeat",
    "generation_owner", "generation_token", "generation_stop_requested", "generation_error",
})


class LlmRefusal(UserError):
    """What the chat refuses in its own user's normal use (a stale tab, a message too long, a
    file too large...): logged at INFO, by the JSON routes as by Odoo's ``call_kw`` (which
    logs a ``UserError`` at WARNING unless ``loglevel`` says otherwise, odoo/http.py): it is
    no server problem. Shown as a UserError: the web client shows an exception whose name it
    does not know as a server error with its traceback, unless its context names a class it
    knows (web's error_handlers.js)."""
    loglevel = logging.INFO
    shown_as = "odoo.exceptions.UserError"

    def __init__(self, message):
        super().__init__(message)
        self.context = {"exception_class": self.shown_as}


class LlmNoAccess(LlmRefusal, AccessError):
    """The conversation does not exist (any more) or is someone else's (a tab still showing a
    conversation deleted elsewhere gets it)."""
    shown_as = "odoo.exceptions.AccessError"


class LlmBusyError(LlmRefusal):
    """The thread already has a generation running (HTTP 409)."""


class LlmMessageTooLong(LlmRefusal):
    """The user's message exceeds MAX_MESSAGE_CHARS (HTTP 413)."""


# What a client may send, by kind (``check_input``): how the refusal names it, and the test.
# JSON tells a boolean from a number, so ``type() is`` does too; a NUL character is refused in
# any text (PostgreSQL cannot store it).
INPUT_KINDS = {
    "text": ("a text", lambda value: type(value) is str and "\x00" not in value),
    "false": ("false", lambda value: value is False or value is None),
    "bool": ("true or false", lambda value: type(value) is bool),
    "id": ("a record id", lambda value: type(value) is int and 0 < value <= MAX_ID),
    "ids": ("a list of record ids", lambda value: type(value) is list and all(
        type(item) is int and 0 < item <= MAX_ID for item in value)),
    "object": ("an object", lambda value: type(value) is dict),
    "ids": ("a list of record ids", lambda value: type(value) is list and all(
        is_input(item, "id") for item in value)),
    "names": ("a list of names", lambda value: type(value) is list and all(
        type(name) is str and "\x00" not in name for name in value)),
}


def is_input(value, kind):
    return INPUT_KINDS[kind][1](value)


def check_input(env, values, kinds, required=True):
    """Refuse client input that does not have the expected shape, with a ``UserError`` naming
    the parameter (the web client shows it): ``values`` must be a dict whose keys are among
    ``kinds`` (name -> tuple of ``INPUT_KINDS`` names), all of them when ``required``, each
    value of one of its kinds. The one check of what the chat's routes and RPCs receive."""
    if type(values) is not dict:
        raise UserError(env._("Expected an object of named values."))
    unknown = sorted(set(values) - set(kinds))
    if unknown:
        raise UserError(env._("Unexpected parameters: %s.", ", ".join(map(str, unknown))))
    missing = [name for name in kinds if required and name not in values]
    if missing:
        raise UserError(env._("Missing parameters: %s.", ", ".join(missing)))
    for name, value in values.items():
        if not any(is_input(value, kind) for kind in kinds[name]):
            expected = " or ".join(INPUT_KINDS[kind][0] for kind in kinds[name])
            raise UserError(env._("Invalid value for %(name)s: expected %(kinds)s.",
                                  name=name, kinds=expected))
    return values


def with_context_defaults(model, vals, names):
    """``vals`` of a ``create()`` on ``model`` with what create() adds from the context for the
    fields ``names`` they lack (its ``default_<field>`` keys): what a gate on created values
    checks, so that a context default cannot set what the values may not."""
    context = model.env.context
    return {**{name: context[f"default_{name}"] for name in names
               if f"default_{name}" in context}, **vals}


class LlmThread(models.Model):
    _name = "llm.thread"
    _description = "LLM Conversation"
    _inherit = ["mail.thread"]
    _order = "write_date desc, id desc"

    name = fields.Char(required=True, default=lambda self: self.env._("New conversation"))
    user_id = fields.Many2one(
        "res.users", string="Owner", required=True, index=True, ondelete="cascade",
        default=lambda self: self.env.user,
    )
    # The company the conversation was started in (see create()): LLM managers audit the
    # conversations of their companies (security/llm_thread_rules.xml). Its owner keeps it
    # whatever company they switch to, as Discuss keeps a user's channels (which have no
    # company): a conversation is its owner's, the company only scopes the managers' audit.
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, index=True, ondelete="restrict",
        default=lambda self: self.env.company,
    )
    provider_id = fields.Many2one("llm.provider", string="Provider", ondelete="restrict")
    model_id = fields.Many2one(
        "llm.model", string="Model", ondelete="restrict",
        domain="[('provider_id', '=', provider_id)]",
    )
    # The record the conversation is about (any model), e.g. opened from its chatter.
    res_model = fields.Char("Linked Model", index=True)
    res_id = fields.Many2oneReference("Linked Record", model_field="res_model", index=True)
    # Names of the llm.tool records offered to the model (checked again at execution).
    tool_names = fields.Json("Tools", default=lambda self: self.env["llm.tool"]._llm_default_names())
    system_prompt = fields.Text("System Prompt")
    auto_model = fields.Boolean(
        "Auto Model",
        help="Before each answer, use the cheapest active chat model that has what the "
             "conversation needs: tools when tools are enabled, vision when it has images, a "
             "context window large enough for the history.")
    usage_ids = fields.One2many("llm.usage", "thread_id", string="Usage")
    active = fields.Boolean(default=True)
    # The form is read-only to anyone else (an LLM manager auditing it), who may not save.
    is_mine = fields.Boolean("Mine", compute="_compute_is_mine")

    # The generation state, visible to every tab and worker. The claim (state, owner, token)
    # replaces a lock held for the whole answer: see _llm_claim().
    generation_state = fields.Selection(
        [("idle", "Idle"), ("generating", "Generating"), ("waiting", "Waiting for tools"),
         ("error", "Error")],
        default="idle", required=True, readonly=True, copy=False,
    )
    generation_user_id = fields.Many2one("res.users", "Generating For", readonly=True, copy=False)
    generation_started_at = fields.Datetime("Generating Since", readonly=True, copy=False)
    generation_heartbeat = fields.Datetime(readonly=True, copy=False)
    # Backend pid of the generating process's liveness connection (engine.claim.Liveness).
    generation_owner = fields.Integer(readonly=True, copy=False)
    generation_token = fields.Char(readonly=True, copy=False)
    generation_stop_requested = fields.Boolean(readonly=True, copy=False)
    generation_error = fields.Text("Last Error", readonly=True, copy=False)

    # Fields the chat UI may change through the update route, with the kinds of value each
    # takes (``check_input``); everything else is server-owned.
    _llm_client_writable = {
        "name": ("text",), "system_prompt": ("text", "false"), "provider_id": ("id", "false"),
        "model_id": ("id", "false"), "tool_names": ("names",), "active": ("bool",),
        "auto_model": ("bool",),
    }

    # ------------------------------------------------------------------
    # mail.thread
    # ------------------------------------------------------------------

    def _get_message_create_valid_field_names(self):
        # Accepted by message_post, for the original module's API (llm_thread_seed.py); who
        # may set them is mail.message's one gate (models/mail_message.py): server code only.
        return super()._get_message_create_valid_field_names() | {"llm_role", "body_json"}

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        # Mail would refuse a manager (who reads the conversation) with its generic "security
        # restrictions"; the reason is the chat's: the conversation is not theirs.
        if not self.env.su:
            self._llm_check_owner()
        return super().message_post(**kwargs)

    @api.depends("user_id")
    @api.depends_context("uid")
    def _compute_is_mine(self):
        for thread in self:
            thread.is_mine = thread.user_id == self.env.user

    @api.model_create_multi
    def create(self, vals_list):
        # A conversation is always its creator's: the chat UI never opens someone else's.
        for vals in vals_list:
            if not self.env.su:
                # The context's defaults of what the check reads (the company is set below).
                self._llm_check_client_values(with_context_defaults(
                    self, vals, self._llm_server_owned_fields() | {"res_model", "res_id"}))
                vals["user_id"] = self.env.uid
            if not vals.get("company_id"):
                vals["company_id"] = self._llm_start_company(
                    vals.get("res_model"), vals.get("res_id")).id
        threads = super().create(vals_list)
        threads._llm_notify_list("created")
        return threads

    @api.model
    def _llm_start_company(self, res_model, res_id):
        """The company a new conversation belongs to: its linked record's (a conversation
        opened from a record's chatter is about that company's business) when that is one of
        the companies the user works in now, else the current company (the company switcher's,
        which the chat's routes and RPCs run in)."""
        if res_model in self.env and res_id:
            company = self.env[res_model].sudo().browse(res_id).exists() \
                ._mail_get_companies().get(res_id)
            if company and company._name == "res.company" and company in self.env.companies:
                return company
        return self.env.company

    def write(self, vals):
        # The owner is who may decide on the conversation's tool calls: handing a thread (and
        # a call waiting in it) to someone else would make them approve what they never asked.
        if "user_id" in vals and any(thread.user_id.id != vals["user_id"] for thread in self):
            raise UserError(self.env._("The owner of a conversation cannot change."))
        if not self.env.su:
            self._llm_check_client_values(vals)
        return super().write(vals)

    def unlink(self):
        # Not under a running answer: its run writes the thread and the answer until it ends.
        # Read from the table with the rows locked, as the claim does (_llm_claim): a send
        # committed meanwhile is seen, or this request retried. A stale claim is no run.
        if self:
            self.env.cr.execute("""SELECT generation_state, generation_owner,
                                          generation_heartbeat
                                     FROM llm_thread WHERE id IN %s FOR UPDATE""",
                                (tuple(self.ids),), log_exceptions=False)
            if any(state in BUSY_STATES and not claim.claim_is_stale(self.env.cr, owner, beat)
                   for state, owner, beat in self.env.cr.fetchall()):
                raise LlmBusyError(self.env._(
                    "This conversation is writing an answer: stop it, then delete it."))
        self._llm_notify_list("deleted")  # sent at commit: nothing if the unlink fails
        return super().unlink()

    def _llm_server_owned_fields(self):
        """Fields only the server writes (in sudo): a user's own create or write, over RPC as
        well, is refused them. Modules extend the set with what their own code sets."""
        return SERVER_OWNED_FIELDS

    def _llm_check_client_values(self, vals):
        """What a user's own create or write (over RPC as well) may not set: the generation's
        state, which only the engine writes (in sudo, or plain SQL for the claim), the other
        server-owned fields, and a linked record they may not read (llm_ui_link's check, on
        every way in: the model, the id or both written)."""
        if SERVER_OWNED_FIELDS & set(vals):
            raise AccessError(self.env._(
                "The state of a conversation's answer is the server's to write: send a "
                "message, or Stop."))
        owned = sorted(self._llm_server_owned_fields() & set(vals))
        if owned:
            raise AccessError(self.env._(
                "%s of a conversation is set by the server only.",
                self._fields[owned[0]]._description_string(self.env)))
        if "res_model" in vals or "res_id" in vals:
            for thread in self or [self.browse()]:
                res_model = vals.get("res_model", thread.res_model)
                if res_model:
                    self._llm_ui_check_record(res_model, vals.get("res_id", thread.res_id))
        if vals.get("company_id") and vals["company_id"] not in self.env.companies.ids:
            raise AccessError(self.env._(
                "A conversation belongs to one of the companies you work in: pick it in the "
                "company switcher first."))

    @api.constrains("name", "system_prompt")
    def _check_text_sizes(self):
        for thread in self:
            if len(thread.name or "") > MAX_NAME_CHARS:
                raise ValidationError(self.env._(
                    "A conversation's name is at most %s characters.", MAX_NAME_CHARS))
            if len(thread.system_prompt or "") > MAX_MESSAGE_CHARS:
                length, limit = self._llm_sizes(thread.system_prompt)
                raise ValidationError(self.env._(
                    "The system prompt is too long (%(length)s characters; the limit is "
                    "%(limit)s).", length=length, limit=limit))

    @api.constrains("provider_id", "model_id")
    def _check_model(self):
        for thread in self.filtered("model_id"):
            thread._llm_check_model(thread.model_id, thread.provider_id)
        for thread in self.filtered(lambda t: t.provider_id and not t.model_id):
            if thread.provider_id not in self.env["llm.model"]._llm_chat_models().provider_id:
                raise ValidationError(self._llm_model_unavailable_message())

    @api.constrains("tool_names")
    def _check_tool_names(self):
        for thread in self:
            if not is_input(thread.tool_names or [], "names"):
                raise ValidationError(self.env._("Tools are given as a list of tool names."))
            # Superuser writes (data files, crons) are trusted; tools run only after the
            # execution-time check anyway.
            if not self.env.su:
                self.env["llm.tool"]._llm_check_names(thread.tool_names)

    # ------------------------------------------------------------------
    # Public Python API
    # ------------------------------------------------------------------

    def _llm_record(self):
        """The linked record, in the current user's environment, or ``None``."""
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        return record or None

    def _llm_record_gone(self):
        """For a conversation whose ``_llm_record()`` is None (the callers asked it already):
        the label of its linked record's model when it had one (deleted since, or its module
        uninstalled), else ''."""
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return ""
        return self.env["ir.model"]._get(self.res_model).name or self.res_model

    def _llm_start(self, user_message_body=None, take_turns=False, **actions):
        """Start a generation as a server-side run and return it (``engine.run.Run``): the
        Python API for code with no browser (a server action, an automation, a cron, live
        chat). Returns at once; ``run.wait()`` waits for the end (after a commit).

        Does not commit: the run begins when the current transaction commits, and never if it
        rolls back. The run goes on to its end whoever watches (only ``action_stop()`` stops
        it); when it ends, ``_llm_run_finished()`` is called. ``take_turns``: for runs that
        come many at once (an action on many records): at most
        ``llm_thread.action_runs_at_once`` of them (system parameter, default 4) ask their
        model at once in a process, the others wait in order. ``actions``: see
        :meth:`_llm_prepare_run`.
        """
        turns = None
        if take_turns:
            value = self.env["ir.config_parameter"].sudo().get_param(
                "llm_thread.action_runs_at_once")
            turns = (runtime.action_turns, int(value or DEFAULT_RUNS_AT_ONCE))
        return run.Run(self._llm_prepare_run(user_message_body, **actions),
                       wait_for_commit=True, turns=turns).start()

    def _llm_generate(self, user_message_body=None, **actions):
        """Start a generation as :meth:`_llm_start` does, but COMMIT first: the chat's send,
        where the user's message must be saved before the answer starts, whatever happens to
        it. Returns the run; iterating it gives its protocol events (``(name, payload)``, see
        ``engine.protocol.EVENTS``) from the start; the generate route streams them.
        (``generate()`` is the original module's API around it, llm_thread_seed.py.)"""
        prepared = self._llm_prepare_run(user_message_body, **actions)
        self.env.cr.commit()
        return run.Run(prepared).start()

    def _llm_prepare_run(self, user_message_body=None, regenerate_message_id=None,
                         edit_message_id=None, continue_message_id=None, attachment_ids=()):
        """Check, claim the thread and post the user's message; the generation to run.

        ``regenerate_message_id`` answers that answer's question again, ``edit_message_id``
        replaces that question by ``user_message_body``: what they replace is kept as an
        earlier version, out of the model's history (models/llm_thread_actions.py).
        ``continue_message_id`` (the last answer, cut by the length limit) asks the model to
        go on, appending to that same answer. ``attachment_ids``: the files the message carries,
        which may be all it has (llm_thread_attachments.py); an edit carries those given.

        Raises ``LlmBusyError`` when the thread is already generating, ``UserError`` when the
        message is too long or the thread has no model it may use. Private (not callable over
        RPC).
        """
        self.ensure_one()
        self._llm_check_owner()
        if user_message_body is not None:
            self._llm_check_message_size(user_message_body)
        # A question is its text, its files, or both; blank text is none (Anthropic refuses
        # a text block of whitespace).
        user_message_body = user_message_body if (user_message_body or "").strip() else ""
        question = bool(user_message_body or attachment_ids)
        branch, continued = self._llm_check_action(
            question, regenerate_message_id, edit_message_id, continue_message_id)
        attachments = self._llm_message_attachments(attachment_ids, edit_message_id)
        # Chosen once per generation (the Auto model's choice included); UserError if none.
        attached = self.with_context(llm_attachment_ids=attachments.ids)
        model, provider = attached._llm_model_and_provider()
        # Read once for the vision check, the new message's parent (its last message) and the
        # first call's prompt (with the new message): each was a query of its own.
        history = self._llm_history()
        # What stays of it: up to the message a regenerate or an edit starts again after.
        attached._llm_check_vision(model, history if branch is None else history.filtered(
            lambda message: message.id <= (branch.id or 0)))
        token = self._llm_claim()
        replaced = self.env["mail.message"]
        if branch is not None:
            replaced = self._llm_rewind(branch)
            history = self._llm_history() if question else None
        user_message = self.env["mail.message"]
        if question:
            parent = history[-1:]
            if not parent:
                # A question of files alone is named after them.
                self._llm_name_after(user_message_body or ", ".join(attachments.mapped("name")))
            user_message = self._llm_create_message(
                "user", user_message_body, author=self.env.user.partner_id, parent=parent,
                attachments=attachments)
            history += user_message.sudo()
        # The generation's short transactions get the companies in their context, as env
        # gives them here (the current one first): each of them then knows env.company
        # without reading the user again.
        companies = self.env.company | self.env.companies
        thread = self.with_context(allowed_company_ids=companies.ids)
        prepared = generation.Generation(thread, token, user_message.id, model, provider,
                                         continued.id, regenerate_message_id and replaced.id)
        prepared.prepare_first_call(thread, history)
        return prepared

    def _llm_run_finished(self):
        """Called once when a run of this thread has ended and released it, in a transaction
        of its own, as the run's user: extensions act on the result here (deliver it, post it
        elsewhere). ``generation_state`` tells how it ended."""

    def _llm_answer_progress(self, message, final):
        """Called with the assistant ``message`` being written: at its first save with content
        (its first token), at each later save (at most every half second) and, ``final``, at
        its last write; in the engine's short transaction, so keep it cheap. Extensions
        mirror an answer while it is written."""

    def _llm_name_after(self, text):
        """Name a conversation that still has its default name after its first message
        ``text``, as chat apps do (the caller knows it is the first). In the send's own
        transaction: written apart by the client, the name and the claim raced on the
        thread's row and the claim lost ("already generating")."""
        if self.name != self._fields["name"].default(self):
            return
        line = text.strip().split("\n")[0]
        self.name = line if len(line) <= TITLE_MAX_CHARS else \
            line[:TITLE_MAX_CHARS - 3].rstrip() + "…"

    def action_stop(self):
        """Ask the running generation to stop; it keeps its partial answer, marked stopped.

        Works across workers: the flag is persisted and polled by the generating process, and a
        generation running in this process is cancelled at once.
        """
        self._llm_check_owner()
        busy = self.filtered(lambda t: t.generation_state in BUSY_STATES)
        busy.sudo().generation_stop_requested = True
        for thread in busy:
            runtime.cancel_local(self.env.cr.dbname, thread.id, "stopped")
            # With the flag's commit: the server running it (another one, maybe) stops it at
            # once instead of at its next read of the flag.
            hub.notify(self.env.cr, {"k": "stop", "t": thread.id})
        return bool(busy)

    def _llm_follow(self, last_event_id=None, gone=None):
        """The events of the thread's generation for one more viewer, as ``(event id, name,
        payload)``: see ``engine.run.EventLog.follow``; after ``last_event_id`` when it is an
        event of the run still known here (a reconnect), else from the run's start; only
        ``done`` when nothing runs. ``gone``: whether the viewer went away."""
        self.ensure_one()
        self._llm_check_owner()
        tag, after = run.parse_event_id(last_event_id)
        log = runtime.current_run(self.env.cr.dbname, self.id)
        if log is not None and (not log.ended or log.tag == tag):
            return log.follow(after if log.tag == tag else 0, gone)
        # Not (or no longer) running here: maybe on another server (engine/hub.py). Read from
        # the table: the run's own transactions wrote the state, not this request's cache.
        self.env.cr.execute("SELECT generation_state, generation_owner FROM llm_thread "
                            "WHERE id = %s", (self.id,))
        state, owner = self.env.cr.fetchone()
        if state in BUSY_STATES and owner and owner != self._llm_owner_key():
            mirror = hub.Hub.of(self.env.registry).mirror(self.id, owner, tag)
            return mirror.follow(after if mirror.tag == tag else 0, gone)
        return iter([(None, "done", {"thread_id": self.id, "state": state or "idle"})])

    def llm_update(self, values):
        """Write the fields the chat UI may change; refuses any other, and values of the wrong
        kind. The model, the tools and the sizes are checked by the constraints, whatever
        the path."""
        self._llm_check_owner()
        check_input(self.env, values, self._llm_client_writable, required=False)
        self._llm_lock_rows()
        result = self.write(values)
        if "name" in values:
            # Here, not in write(): the send's own transaction names a new conversation
            # (_llm_name_after), and a bus message from there is sent from the claim's
            # transaction (see _llm_notify_state); the tabs reload their list when its answer
            # ends anyway.
            self._llm_notify_list("renamed")
        return result

    def _llm_lock_rows(self):
        """Lock the threads' rows for this transaction before writing them. A write committed
        by another request since the transaction began (a send claiming the thread, a rename)
        then fails here, with the ``SerializationFailure`` Odoo retries a request on, and
        without the "bad query" ERROR line a failed write logs."""
        self.env.cr.execute("SELECT id FROM llm_thread WHERE id IN %s FOR NO KEY UPDATE",
                            (tuple(self.ids),), log_exceptions=False)

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------

    @api.model
    def _llm_get_thread_with_access(self, thread_id):
        """The current user's own thread ``thread_id``, or an empty recordset when there is no
        such thread or it is not theirs (as ``mail.thread._get_thread_with_access``): the
        entry of every chat route. Any id a client sends is accepted, even not a number."""
        if not is_input(thread_id, "id"):
            return self.browse()
        thread = self.browse(thread_id).exists()
        return thread if thread and thread._llm_is_own() else self.browse()

    def _llm_check_owner(self):
        """Raise ``AccessError`` unless every thread of ``self`` is the current user's: the
        one gate of every chat operation (routes, UI methods, the generation, tools)."""
        if not self._llm_is_own():
            raise LlmNoAccess(self._llm_not_yours_message())

    def _llm_is_own(self):
        """Chat operations are for the thread's owner only, managers included: reading every
        thread in the backend is an audit right, not a right to talk in someone's name.

        A positive answer is kept for the cursor's life (a request; the owner never changes,
        see write()): a send asks it at the route, in the generation and in its checks, and
        each access check is a query."""
        key = (self.env.uid, self.env.su, tuple(self.ids))
        known = self.env.cr.cache.setdefault("llm_thread_own", set())
        if key in known:
            return True
        own = bool(self) and self.has_access("write") \
            and all(thread.user_id.id == self.env.uid for thread in self)
        if own:
            known.add(key)
        return own

    def _llm_not_yours_message(self):
        return self.env._("This conversation does not exist or is not yours.")

    def _llm_check_message_size(self, body):
        if len(body) > MAX_MESSAGE_CHARS:
            length, limit = self._llm_sizes(body)
            raise LlmMessageTooLong(self.env._(
                "This message is too long (%(length)s characters; the limit is %(limit)s). "
                "Shorten it or attach the text as a file.", length=length, limit=limit))

    def _llm_sizes(self, text):
        """The length of a ``text`` too long and the limit, as the user reads numbers
        ("299,999"); formatted before the ``_()`` call, where Babel's extractor would choke on
        a function call."""
        return (formatLang(self.env, len(text), digits=0),
                formatLang(self.env, MAX_MESSAGE_CHARS, digits=0))

    def _llm_resolve_model(self, model, provider):
        """(provider client, api model name, context window, answer reserve) for ``model`` of
        ``provider`` (from ``_llm_model_and_provider``).

        The one place that knows the fields of ``llm.provider`` / ``llm.model``.
        """
        return (
            provider._get_provider(),
            model.api_id,
            model.context_window or DEFAULT_CONTEXT_WINDOW,
            model.max_output_tokens or DEFAULT_ANSWER_RESERVE,
        )

    def _llm_model_and_provider(self):
        """(llm.model, llm.provider) records this thread talks to: its own, or the "Auto"
        choice; raises ``UserError`` when there is none."""
        self.ensure_one()
        if self.auto_model:
            model = self._llm_auto_model()
            return model, model.provider_id
        model = self.model_id
        if not model:
            raise UserError(self._llm_not_configured_message())
        # Again at every answer: the model or its provider may have been archived, or moved
        # to another company, since the thread was set on them.
        self._llm_check_model(model, self.provider_id)
        return model, model.provider_id

    def _llm_check_model(self, model, provider):
        """Raise ``ValidationError`` unless ``model`` is an active chat model of an active
        provider that the current user may use (their companies), and of ``provider`` when
        one is given: the one check of what a conversation may talk to."""
        if model not in self.env["llm.model"]._llm_chat_models() \
                or (provider and model.provider_id != provider):
            raise ValidationError(self._llm_model_unavailable_message(model))

    def _llm_model_unavailable_message(self, model=None):
        if model:
            # sudo: a model of another company, or archived, is still named.
            return self.env._(
                "The model %s is not available for chatting (archived, its provider archived, "
                "or not for your company): pick one from the model list.",
                model.sudo().display_name)
        return self.env._("This model is not available for chatting: pick one from the model list.")

    def _llm_auto_model(self):
        """The cheapest active chat model the user may use that has what this conversation
        needs: tools if any is enabled, vision if a message has an image, and a context window
        holding the system prompt, the history and the answer reserve."""
        needs_tools = bool(self._llm_enabled_tools())
        needs_vision = self._llm_has_images()  # llm_thread_attachments.py
        prompt = estimate_tokens(self.system_prompt or "") + estimate_tokens(
            self._llm_describe_record()) + sum(
            message_tokens(message) for unit in self._llm_history_units() for message in unit)
        candidates = self.env["llm.model"]._llm_chat_models().filtered(
            lambda m: (m.supports_tools or not needs_tools)
            and (m.supports_vision or not needs_vision)
            and (m.context_window or DEFAULT_CONTEXT_WINDOW)
            >= prompt + (m.max_output_tokens or DEFAULT_ANSWER_RESERVE))
        if not candidates:
            # Translated apart, not inside the message's _() call: Babel does not extract a
            # translated string nested in the arguments of another.
            needs = [self.env._("tools")] if needs_tools else []
            if needs_vision:
                needs.append(self.env._("vision"))
            needs = ", ".join(needs) or self.env._("chat")
            raise UserError(self.env._(
                "No active chat model fits this conversation for the Auto model (needed: "
                "%(needs)s, and a context window holding its %(tokens)s tokens and an answer). "
                "Choose a model, or ask an LLM manager to add one or to mark what one can do in "
                "LLM > Configuration > Models.",
                needs=needs, tokens=prompt))
        # Cheapest by the price of a typical turn (input dominates: the history is resent),
        # then the configured order.
        return min(candidates, key=lambda m: (m.input_price + m.output_price,
                                              m.provider_id.sequence, m.sequence, m.id))

    def _llm_tool_names(self):
        """Names of the tools this conversation offers the model (its assistant may narrow
        them, see llm_assistant.py): the one list every tool check reads."""
        return self.tool_names or []

    def _llm_enabled_tools(self):
        """The llm.tool records the model may call now, as the current user."""
        return self.env["llm.tool"]._llm_enabled(self._llm_tool_names())

    def _llm_not_configured_message(self):
        return self.env._("Choose a provider and a model for this conversation first.")

    def _llm_max_iterations(self):
        value = self.env["ir.config_parameter"].sudo().get_param("llm_thread.max_iterations")
        return int(value or DEFAULT_MAX_ITERATIONS)

    # ------------------------------------------------------------------
    # Claim (the "lock" held for a whole generation)
    # ------------------------------------------------------------------

    def _llm_claim(self):
        """Mark the thread generating for this process, or raise ``LlmBusyError``.

        ``claim.try_lock`` (an advisory lock per thread) makes the check-and-set atomic
        across workers and servers, and lasts only for this short transaction; the persisted
        claim then carries the lock through the whole answer without holding a connection.
        A claim whose owning process died (its liveness lock is gone) or whose heartbeat is
        too old is stale and taken over. Raises ``SerializationFailure`` when the thread was
        written since this transaction began (a request is retried on it).
        """
        self.ensure_one()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                if not claim.try_lock(cr, self.id):
                    raise LlmBusyError(self._llm_busy_message())
                # Read from the table, not the cache: another worker may just have committed.
                # The row is locked as _llm_lock_rows() does: the claim's write below cannot
                # fail to serialize.
                cr.execute("""SELECT generation_state, generation_owner, generation_heartbeat
                                FROM llm_thread WHERE id = %s FOR NO KEY UPDATE""", (self.id,),
                           log_exceptions=False)
                state, owner, heartbeat = cr.fetchone()
                if state in BUSY_STATES:
                    if not claim.claim_is_stale(cr, owner, heartbeat):
                        raise LlmBusyError(self._llm_busy_message())
                    _logger.warning("llm.thread %s: clearing a stale generation (owner %s, "
                                    "heartbeat %s)", self.id, owner, heartbeat)
                token = uuid.uuid4().hex
                now = fields.Datetime.now()
                # Plain SQL on the way to the first delta (the ORM's write took a tenth of the
                # send's time): technical fields, tracked by nothing, no field depends on them.
                cr.execute("""
                    UPDATE llm_thread
                       SET generation_state = 'generating', generation_user_id = %(uid)s,
                           generation_started_at = %(now)s, generation_heartbeat = %(now)s,
                           generation_owner = %(owner)s, generation_token = %(token)s,
                           generation_stop_requested = FALSE, generation_error = NULL,
                           write_uid = %(uid)s, write_date = %(now)s
                     WHERE id = %(id)s""", {"uid": self.env.uid, "now": now, "id": self.id,
                                            "owner": self._llm_owner_key(), "token": token})
                self.invalidate_recordset([name for name in self._fields
                                           if name.startswith("generation_")]
                                          + ["write_uid", "write_date"])
        except psycopg2.errors.SerializationFailure:
            # The thread changed since this transaction began: not "already generating".
            # Odoo retries a request on this error in a new transaction (the second worker
            # of a real race then sees the claim and answers 409).
            self.invalidate_recordset()
            raise
        return token

    def _llm_owner_key(self):
        """This process's key as a claim's owner; its hub listens from now on, so that viewers
        and Stop on other servers reach the runs of this one (engine/hub.py)."""
        key = claim.Liveness.owner_key(self.env.registry)
        hub.Hub.of(self.env.registry)
        return key

    def _llm_notify_state(self):
        """Tell the owner's tabs (any device) the thread's generation state, so that a tab
        showing it locks its composer while another generates and reloads when it ends.

        Not sent from the claim's transaction: the bus notifies through a second database
        connection at commit, and a request holding one connection while waiting for another
        can exhaust the gevent process's small pool. The generation sends it from its own
        short transactions, which ``engine.runtime.db_slot`` bounds."""
        for thread in self:
            thread.user_id._bus_send(GENERATION_STATE_NOTIFICATION, {
                "thread_id": thread.id, "state": thread.generation_state})

    def _llm_notify_list(self, change):
        """Tell the owner's tabs (any device) that their list of conversations changed
        (``change``: engine.protocol.THREAD_LIST_CHANGES), so that every LLM Chat open adds,
        renames or removes the conversation without a reload."""
        for thread in self:
            thread.user_id._bus_send(THREAD_LIST_NOTIFICATION, {
                "thread_id": thread.id, "change": change})

    def _llm_busy_message(self):
        return self.env._("This conversation is already generating an answer. Wait for it to "
                          "finish or stop it first.")

    def _register_hook(self):
        """At every start of a server process (its registry load): a process that was killed
        or crashed left its claims behind; their liveness locks died with it, so they are
        released now rather than at the next cron run, minutes later. The answers they were
        writing are already stored marked interrupted (``engine.turn.Turn.data``)."""
        super()._register_hook()
        self._cron_clear_stale_generations()

    @api.model
    def _cron_clear_stale_generations(self):
        """Reset threads left generating by a process that died, so the UI never shows a
        conversation stuck in "generating"."""
        busy = self.sudo().with_context(active_test=False).search(
            [("generation_state", "in", BUSY_STATES)])
        stale = busy.filtered(lambda t: claim.claim_is_stale(
            self.env.cr, t.generation_owner, t.generation_heartbeat))
        stale.write({"generation_state": "error", "generation_token": False,
                     "generation_error": self.env._("The generation was interrupted.")})
        stale._llm_notify_state()
        return len(stale)

    # ------------------------------------------------------------------
    # Messages
    # ------------------------------------------------------------------

    def _llm_create_message(self, role, text="", data=None, author=None, parent=None,
                            attachments=None):
        """A message of the conversation, created lean (no followers or notifications: the
        stream tells the client; the thread is its owner's alone), returned in the current
        user's environment. Authored by the assistant (OdooBot) unless ``author`` is given; it
        follows ``parent`` (a mail.message, empty: the first), by default the active path's
        last message (``_llm_leaf``: a query the callers that know it spare);
        ``attachments`` (of this thread) join it.

        Created in sudo, which keeps the user as its creator: every caller has checked that
        the thread is the current user's, and mail.message's own access check (the document,
        the author, the user again) was a third of the time to the first delta's two
        messages."""
        self.ensure_one()
        xmlid_to_id = self.env["ir.model.data"]._xmlid_to_res_id  # cached: no query per message
        return self.sudo()._message_create([{
            "body": escape(text),
            "model": self._name,
            "res_id": self.id,
            "message_type": "comment",
            "subtype_id": xmlid_to_id(self._llm_message_subtype()),
            "author_id": author.id if author else xmlid_to_id("base.partner_root"),
            # Given rather than computed by mail (the author's formatted address, alias and
            # catchall lookups: most of the create's time): these notes are never sent by
            # email, so they need no sender address nor reply-to; the author says who wrote.
            "email_from": False,
            "reply_to": False,
            # Only the name: a generation's own transaction reads nothing else of the thread.
            "record_name": self.with_context(prefetch_fields=False).name,
            "llm_role": role,
            "body_json": data or {},
            "llm_parent_id": (self._llm_leaf() if parent is None else parent).id,
            "attachment_ids": [Command.set(attachments.ids)] if attachments else [],
        }]).with_env(self.env)

    def _llm_message_subtype(self):
        """The xmlid of the subtype of the conversation's messages: notes, never sent."""
        return "mail.mt_note"

    def _llm_history(self):
        """The conversation's messages on its active path (no earlier versions), oldest first. Callers have checked that the thread is
        the current user's (its messages are theirs): read as superuser, since mail.message's
        per-document access filter took a fifth of the time to the first delta."""
        self.ensure_one()
        # With what the callers read, in the search's query: not every column of
        # mail.message in a second one.
        return self.env["mail.message"].sudo().search_fetch(
            [("model", "=", self._name), ("res_id", "=", self.id), ("llm_role", "!=", False),
             ("llm_superseded", "=", False)],
            ["llm_role", "body", "body_json", "date"],
            order="id",
        )

    # ------------------------------------------------------------------
    # Context for the model
    # ------------------------------------------------------------------

    def _llm_build_messages(self, context_window, answer_reserve, knowledge="", history=None):
        """The assistant's instructions, the system prompt, the linked record, the
        ``knowledge`` passages (``_llm_knowledge``, once per answer), then as much history as
        fits, newest first. ``history``: ``_llm_history()`` when the caller read it already."""
        self.ensure_one()
        system_parts = [part for part in (self._llm_instructions(), self.system_prompt) if part]
        description = self._llm_describe_record()
        if description:
            system_parts.append(description)
        if knowledge:
            system_parts.append(knowledge)
        system_parts.append(self._llm_user_context())
        system = [ChatMessage("system", "\n\n".join(system_parts))] if system_parts else []
        budget = context_window - answer_reserve - sum(estimate_tokens(m.content) for m in system)
        units = self._llm_history_units(history)
        kept = []
        for unit in reversed(units):
            cost = sum(message_tokens(message) for message in unit)
            if kept and cost > budget:
                break
            kept[:0] = unit
            budget -= cost
        return system + kept

    def _llm_history_units(self, history=None):
        """The history (``_llm_history()``, read unless given) as provider messages, grouped
        so that trimming never separates an assistant's tool calls from their results. Calls
        left without a result (an interrupted run) are dropped: providers refuse them."""
        messages = self._llm_history() if history is None else history
        # The results of an answer's calls are the tool messages right after it: call ids are
        # only unique within one answer (Ollama numbers them anew each time).
        results = {}  # assistant message id -> {call id: tool message}
        asking = None
        for message in messages:
            if message.llm_role == "tool" and asking:
                results[asking.id][(message.body_json or {}).get("tool_call_id")] = message
            elif message.llm_role != "tool":
                asking = message
                results[message.id] = {}
        units = []
        for message in messages:
            if message.llm_role == "tool":
                continue
            data = message.body_json or {}
            text = message_text(message)
            answered = results[message.id]
            calls = tuple(ToolCall(c["id"], c["name"], c.get("arguments") or {})
                          for c in data.get("tool_calls") or () if c["id"] in answered)
            if message.llm_role == "assistant" and not text and not calls:
                continue  # an answer that failed before its first token
            unit = [ChatMessage(message.llm_role, text, tool_calls=calls,
                                attachments=self._llm_chat_attachments(message))]
            for call in calls:
                result = answered[call.id]
                unit.append(ChatMessage("tool", message_text(result), tool_call_id=call.id,
                                        name=(result.body_json or {}).get("name"),
                                        is_error=bool((result.body_json or {}).get("is_error"))))
            units.append(unit)
        return units

    def _llm_user_context(self):
        """Today's date, the user's time zone and language: what "overdue", "this month" or
        "answer in my language" need, which the model cannot know. The date, not the time:
        last in the system prompt and the same all day, it leaves the providers' prompt
        caches (a prefix of the request) intact from one question to the next."""
        lang_code = self.env.lang or "en_US"
        lang = self.env["res.lang"]._get_data(code=lang_code)
        today = fields.Date.context_today(self)
        return self.env._(
            "Today is %(weekday)s %(date)s in the user's time zone (%(tz)s). The user's "
            "language is %(language)s (%(code)s).",
            weekday=format_date(today, "EEEE", locale=babel_locale_parse(lang_code)),
            date=today.isoformat(),
            tz=self.env.context.get("tz") or self.env.user.tz or "UTC",
            language=lang.name or lang_code, code=lang_code)

    def _llm_describe_record(self):
        """A compact description of the linked record with only what the user may read, a
        sentence saying it was deleted, or ''."""
        record = self._llm_record()
        if not record:
            gone = self._llm_record_gone()
            # Said, so that the model does not answer as if it still had the record.
            return gone and self.env._(
                "This conversation was about a record (%(model)s, model %(technical)s, id %(id)s) "
                "that no longer exists: it was deleted.",
                model=gone, technical=self.res_model, id=self.res_id)
        try:
            record.check_access("read")
        except AccessError:
            return ""
        names = [
            name for name, field in record._fields.items()
            if field.store and not field.groups and name not in models.MAGIC_COLUMNS
            and field.type not in ("binary", "image", "one2many", "many2many", "json",
                                   "properties", "properties_definition")
            and not name.startswith(("message_", "activity_", "website_message"))
        ] or ["display_name"]
        values = record.read(names[:RECORD_DESCRIPTION_MAX_FIELDS])[0]
        lines = []
        for name in names[:RECORD_DESCRIPTION_MAX_FIELDS]:
            value = values.get(name)
            if value in (False, None, ""):
                continue
            field = record._fields[name]
            if isinstance(value, tuple):  # many2one: (id, display name)
                value = value[1]
            elif field.type == "html":
                value = html2plaintext(value)
            elif field.type == "selection":
                # The label the user sees, and the value the model's tools need.
                label = dict(field._description_selection(self.env)).get(value)
                value = f"{label} ({value})" if label and label != value else value
            lines.append(f"- {record._fields[name].string}: {value}")
        text = self.env._(
            "This conversation is about %(model)s \"%(name)s\" (model %(technical)s, id %(id)s):",
            model=self.env["ir.model"]._get(record._name).name, name=record.display_name,
            technical=record._name, id=record.id)
        return (text + "\n" + "\n".join(lines))[:RECORD_DESCRIPTION_MAX_CHARS]
