from odoo import fields, models

LLM_ROLES = [
    ("user", "User"),
    ("assistant", "Assistant"),
    ("tool", "Tool"),
    ("system", "System"),
]


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

    def _to_store(self, store, /, *, fields=None, **kwargs):
        super()._to_store(store, fields=fields, **kwargs)
        for message in self.filtered("llm_role"):
            store.add(message, {"llm_role": message.llm_role, "body_json": message.body_json})
