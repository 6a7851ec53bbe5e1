"""Thumbs up or down on an answer, with an optional comment: one line per answer and user,
reported per model and assistant in LLM > Reporting > Feedback."""

from odoo import api, fields, models


class LlmFeedback(models.Model):
    _name = "llm.feedback"
    _description = "LLM Answer Feedback"
    _order = "create_date desc, id desc"
    _rec_name = "message_id"

    message_id = fields.Many2one("mail.message", string="Answer", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    thread_id = fields.Many2one("llm.thread", string="Conversation", index=True,
                                ondelete="cascade", readonly=True)
    user_id = fields.Many2one("res.users", string="User", required=True, index=True,
                              ondelete="cascade", readonly=True,
                              default=lambda self: self.env.user)
    company_id = fields.Many2one("res.company", string="Company", required=True, index=True,
                                 readonly=True, default=lambda self: self.env.company)
    model_id = fields.Many2one("llm.model", string="Model", ondelete="set null", readonly=True,
                               help="The model that wrote the answer.")
    assistant_id = fields.Many2one("llm.assistant", string="Assistant", ondelete="set null",
                                   readonly=True, index="btree_not_null",
                                   help="The conversation's assistant when the answer was rated.")
    rating = fields.Selection([("up", "Good answer"), ("down", "Bad answer")], required=True)
    comment = fields.Text()
    # For the pivot: each line counts once, on its side.
    up_count = fields.Integer("Good", compute="_compute_counts", store=True)
    down_count = fields.Integer("Bad", compute="_compute_counts", store=True)

    _sql_constraints = [
        ("message_user_unique", "unique(message_id, user_id)",
         "An answer is rated once per user: change the rating instead."),
    ]

    @api.depends("rating")
    def _compute_counts(self):
        for line in self:
            line.up_count = line.rating == "up"
            line.down_count = line.rating == "down"

    @api.model
    def _llm_rate(self, thread, message, rating, comment):
        """Set, change or (``rating`` False) clear the user's rating of ``message``, an answer
        of ``thread``; returns ``{rating, comment}`` or None.

        The only way a line is written: users may only read theirs, since a line names its
        answer and conversation, which Odoo shows by name to whoever reads the line. The
        caller (``llm.thread.llm_ui_feedback``) checked that ``thread`` is the user's and
        ``message`` one of its answers; the line is then written in sudo, for this user."""
        line = self.search([("message_id", "=", message.id), ("user_id", "=", self.env.uid)])
        if not rating:
            line.sudo().unlink()
            return None
        values = {"rating": rating, "comment": comment or False}
        if line:
            line.sudo().write(values)
        else:
            usage = self.env["llm.usage"].search([("message_id", "=", message.id)], limit=1)
            line = self.sudo().create(dict(
                values, message_id=message.id, thread_id=thread.id, user_id=self.env.uid,
                company_id=self.env.company.id, model_id=usage.model_id.id,
                assistant_id=thread.assistant_id.id))
        return {"rating": line.rating, "comment": line.comment or ""}
