"""Live chat conversations the AI agent took part in: resolved by it or handed over, time to
its first answer, the visitor's rating and thumbs, the cost of its model calls."""

from odoo import fields, models, tools

from .discuss_channel import HANDOFF_REASONS, THUMBS_DOWN, THUMBS_UP


class LlmLivechatReport(models.Model):
    _name = "llm.livechat.report"
    _description = "AI Live Chat Report"
    _auto = False
    _order = "date desc"

    channel_id = fields.Many2one("discuss.channel", "Conversation", readonly=True)
    livechat_channel_id = fields.Many2one("im_livechat.channel", "Live Chat Channel",
                                          readonly=True)
    agent_partner_id = fields.Many2one("res.partner", "AI Agent", readonly=True)
    date = fields.Datetime("Started", readonly=True)
    outcome = fields.Selection([("ai", "Resolved by the AI"), ("handed_over", "Handed over")],
                               readonly=True)
    handoff_reason = fields.Selection(HANDOFF_REASONS, "Hand-off Reason", readonly=True)
    handoff_error = fields.Text("Why the AI Failed", readonly=True)
    handoff_question = fields.Text("Question Handed Over", readonly=True)
    first_answer_seconds = fields.Float("Time to First Answer (s)", readonly=True,
                                        aggregator="avg")
    answer_count = fields.Integer("AI Answers", readonly=True)
    rating = fields.Float("Rating", readonly=True, aggregator="avg",
                          help="The visitor's rating of the conversation (1 to 5).")
    thumbs_up = fields.Integer("Thumbs Up", readonly=True)
    thumbs_down = fields.Integer("Thumbs Down", readonly=True)
    cost = fields.Float("Cost", readonly=True, digits=(16, 4),
                        help="Of the agent's model calls, in the company's currency.")
    tokens = fields.Integer("Tokens", readonly=True)
    nbr = fields.Integer("Conversations", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(f"""
            CREATE VIEW {self._table} AS (
                SELECT c.id, c.id AS channel_id, c.livechat_channel_id,
                       c.llm_agent_partner_id AS agent_partner_id, c.create_date AS date,
                       CASE WHEN c.llm_handoff_reason IS NULL THEN 'ai' ELSE 'handed_over' END
                           AS outcome,
                       c.llm_handoff_reason AS handoff_reason,
                       c.llm_handoff_error AS handoff_error,
                       c.llm_handoff_question AS handoff_question,
                       NULLIF(state.first_answer_seconds, 0) AS first_answer_seconds,
                       COALESCE(state.answer_count, 0) AS answer_count,
                       rating.rating, reactions.up AS thumbs_up, reactions.down AS thumbs_down,
                       COALESCE(usage.cost, 0) AS cost, COALESCE(usage.tokens, 0) AS tokens,
                       1 AS nbr
                  FROM discuss_channel c
             LEFT JOIN llm_livechat_state state ON state.channel_id = c.id
             LEFT JOIN LATERAL (SELECT SUM(u.cost) AS cost, SUM(u.total_tokens) AS tokens
                                  FROM llm_usage u WHERE u.thread_id = c.llm_thread_id) usage
                       ON TRUE
             LEFT JOIN LATERAL (SELECT r.rating FROM rating_rating r
                                 WHERE r.res_model = 'discuss.channel' AND r.res_id = c.id
                                   AND r.consumed ORDER BY r.id DESC LIMIT 1) rating ON TRUE
             LEFT JOIN LATERAL (SELECT COUNT(*) FILTER (WHERE x.content = %s) AS up,
                                       COUNT(*) FILTER (WHERE x.content = %s) AS down
                                  FROM mail_message_reaction x
                                  JOIN mail_message m ON m.id = x.message_id
                                 WHERE m.model = 'discuss.channel' AND m.res_id = c.id
                                   AND m.author_id = c.llm_agent_partner_id) reactions ON TRUE
                 WHERE c.channel_type = 'livechat' AND c.llm_agent_partner_id IS NOT NULL
            )""", (THUMBS_UP, THUMBS_DOWN))
