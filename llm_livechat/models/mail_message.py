from odoo import fields, models


class MailMessage(models.Model):
    _inherit = "mail.message"

    # A live chat message of the agent: the llm.thread answer it shows (updated while written).
    llm_livechat_source_id = fields.Integer("AI Answer Shown", index="btree_not_null", copy=False)
