"""What the AI agent's runs keep of a live chat conversation: its counters and the hand-off
its model asked for. A row of its own, not fields of the conversation (``discuss.channel``):
the visitor's every post updates the conversation's row (mail's ``last_interest_dt``), and a
run's end writing that row at the same moment made one of the two transactions fail to
serialize. Only the conversation's runs write this row, one run at a time: the hand-off tool
during a run, the run's end after it."""

from odoo import fields, models

from .discuss_channel import HANDOFF_REASONS


class LlmLivechatState(models.Model):
    _name = "llm.livechat.state"
    _description = "AI Agent's State of a Live Chat Conversation"

    channel_id = fields.Many2one("discuss.channel", "Conversation", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    first_answer_seconds = fields.Float("Time to First Answer (s)", readonly=True)
    answer_count = fields.Integer("AI Answers", readonly=True)
    # Questions in a row answered with no relevant knowledge passage.
    unsourced_count = fields.Integer(readonly=True)
    # Set by the hand-off tool during a run; acted on when the run ends (after its last words).
    handoff_requested = fields.Selection(HANDOFF_REASONS, readonly=True)
    handoff_summary = fields.Text(readonly=True)

    _sql_constraints = [("channel_unique", "UNIQUE(channel_id)",
                         "A conversation has one state of its agent.")]

