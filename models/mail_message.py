from odoo import api, fields, models
from odoo.exceptions import AccessError

from .llm_thread import LlmRefusal, with_context_defaults

LLM_ROLES = [
    ("user", "User"),
    ("assistant", "Assistant"),
    ("tool", "Tool result"),
    ("system", "System"),
]

# The roles a message created by a user's own call may have: none (a plain note) or "user"
# (what they ask). The others are the model's answers, the tools' results and instructions.
USER_ROLES = (False, None, "user")
# What only the server's own code writes on a message (the chat's routes and the engine, in
# sudo): its role, its data (tool calls with their ids, results, errors, citations, finish
# reason) and its place among the versions. A user setting them over RPC would forge what
# the model answered or a tool returned, shown and sent to the model as its own, and the
# calls it asked for: once a call of the last answer is approved, the next send runs every
# call of that answer that has no result yet (llm.thread._llm_calls_to_resume), logged as
# the model's. Modules add theirs (MailMessage._llm_server_fields).
SERVER_FIELDS = frozenset({"llm_role", "body_json", "llm_parent_id", "llm_unselected",
                           "llm_superseded"})


class LlmServerOwned(LlmRefusal, AccessError):
    """A user's call (RPC, mail's routes, code running as the user) tried to write what only
    the server writes on a conversation's messages."""
    shown_as = "odoo.exceptions.AccessError"


class MailMessage(models.Model):
    _inherit = "mail.message"

    # Indexed: the context builder reads a thread's messages by role on every turn.
    llm_role = fields.Selection(LLM_ROLES, string="LLM Role", index=True)
    # Assistant messages: tool_calls [{id, name, arguments, offset: length of the text written
    # before the call}], reasoning, usage {input_tokens, output_tokens}, finish_reason, stopped,
    # error {code, message, detail}.
    # Tool messages: tool_call_id, name, arguments, is_error.
    # The text itself (assistant markdown, tool result) stays in ``body`` as escaped text, so
    # mail's own views, search and ``message_post(body=...)`` keep working; the client reads it
    # back with ``textContent`` and renders the markdown.
    body_json = fields.Json(string="LLM Data")
    # Versions (models/llm_versions.py): the conversation is a tree. Each message follows
    # ``llm_parent_id`` (the message before it; none for the first); a regenerated answer or
    # an edited question is a second child of the same parent. ``llm_unselected``: a version
    # the user moved away from; ``llm_superseded``: off the path shown and sent to the model.
    llm_parent_id = fields.Many2one("mail.message", string="LLM Previous Message",
                                    index="btree_not_null", ondelete="set null", copy=False)
    llm_unselected = fields.Boolean("LLM Other Version", copy=False)
    llm_superseded = fields.Boolean("LLM Superseded", copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._llm_check_server_values(vals, created=True)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._llm_check_server_values(vals)
        return super().write(vals)

    def unlink(self):
        # A user deleting an answer or a tool result would change what the model is sent, pull
        # the message from under the run writing it, or make the next send run an approved
        # call again (its result gone). The whole conversation goes with llm.thread's unlink
        # (mail deletes its messages in sudo); the engine's own deletions are in sudo too.
        if not self.env.su and any(role not in USER_ROLES
                                   for role in self.sudo().mapped("llm_role")):
            raise LlmServerOwned(self.env._(
                "A conversation's answers, tool calls and tool results are not deleted one by "
                "one: delete the whole conversation, or regenerate the answer."))
        return super().unlink()

    def _llm_server_fields(self):
        """``SERVER_FIELDS`` and the fields other modules' server code alone sets."""
        return SERVER_FIELDS

    def _llm_check_server_values(self, vals, created=False):
        """The one gate of the server's fields (``_llm_server_fields``) on every way a message
        is created or changed (``message_post``, ``message_notify``, ``create``, ``copy``,
        ``write``, imports): unless in sudo, a new message is a plain note or a user's
        question, with nothing else of the above, and an existing message keeps them, and the
        text of an answer, a tool result or an instruction too. A new message's values are
        read with the ``default_<field>`` keys of the context, which create() adds. Python code
        posting an answer in the original module's way does it in sudo (docs/seed_api.md)."""
        server_fields = self._llm_server_fields()
        if created:
            vals = with_context_defaults(self, vals, server_fields)
            forged = vals.get("llm_role") not in USER_ROLES or any(
                vals.get(name) for name in server_fields - {"llm_role"})
        else:
            forged = server_fields & set(vals) or "body" in vals and any(
                message.llm_role not in USER_ROLES for message in self)
        if forged:
            raise LlmServerOwned(self.env._(
                "A conversation's answers, tool calls and tool results are written by the "
                "server only: send your question in the chat, or post a plain note."))

    def _to_store(self, store, /, *, fields=None, **kwargs):
        super()._to_store(store, fields=fields, **kwargs)
        for message in self.filtered("llm_role"):
            store.add(message, {"llm_role": message.llm_role, "body_json": message.body_json})
