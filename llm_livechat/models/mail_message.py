from odoo import fields, models


class MailMessage(models.Model):
    _inherit = "mail.message"

    def _llm_server_fields(self):
        # Set by the agent's own code (in sudo): a visitor's message marked as an answer would
        # be updated with the next answer's text; one marked skipped is kept from the agent.
        return super()._llm_server_fields() | {"llm_livechat_source_id", "llm_livechat_skipped"}

    # A live chat message of the agent: the llm.thread answer it shows (updated while written).
    llm_livechat_source_id = fields.Integer("AI Answer Shown", index="btree_not_null", copy=False)
    # A visitor's message the agent refused (too long, too fast): never given to the model,
    # even by a later run that answers the messages written meanwhile.
    llm_livechat_skipped = fields.Boolean("Not for the AI", copy=False)
    # A visitor's message given to the agent (a run answers it) or to the team (a hand-off):
    # the visitor's messages not marked are answered by the next run.
    llm_livechat_handled = fields.Boolean("Given to the AI", copy=False)
