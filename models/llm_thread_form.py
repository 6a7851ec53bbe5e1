"""The conversation's backend form (LLM > Configuration > Conversations): read by its owner
and by LLM managers auditing other users' conversations, who may not write in them.

It has no chatter: its composer would post in a conversation that refuses anyone but its owner
(``message_post``), its AI button would start a conversation about the conversation, and its
messages are the model's raw turns. The form shows them as a transcript instead, and the owner
continues the conversation in LLM Chat.
"""

from odoo import api, fields, models

from ..engine.turn import message_text


class LlmThreadForm(models.Model):
    _inherit = "llm.thread"

    llm_transcript_ids = fields.Many2many(
        "mail.message", string="Transcript", compute="_compute_llm_transcript_ids",
        help="The messages as the chat shows them: the versions shown, without the empty "
             "messages of answers that called tools or never began.")

    @api.depends("message_ids")
    def _compute_llm_transcript_ids(self):
        for thread in self:
            # In the reader's rights: a manager reads every conversation (the record rule),
            # hence its messages (mail.message follows the document's read access).
            thread.llm_transcript_ids = thread._llm_history().with_env(self.env).filtered(
                message_text)

    def action_open_in_chat(self):
        """The owner goes on with the conversation in LLM Chat (opened on ``active_id``, as
        the assistants' Test button opens it)."""
        self.ensure_one()
        self._llm_check_owner()
        action = self.env["ir.actions.actions"]._for_xml_id("llm_thread.action_llm_chat")
        return dict(action, context={"active_id": self.id, "active_ids": self.ids,
                                     "active_model": self._name})
