from odoo import api, models


class DiscussChannelMember(models.Model):
    """Joining or leaving a live chat conversation may start or stop the AI's answers: Discuss
    is told (discuss.channel._llm_watch_handling)."""
    _inherit = "discuss.channel.member"

    @api.model_create_multi
    def create(self, vals_list):
        self.env["discuss.channel"].browse(
            {vals["channel_id"] for vals in vals_list if vals.get("channel_id")}
        )._llm_watch_handling()
        return super().create(vals_list)

    def unlink(self):
        self.channel_id._llm_watch_handling()
        return super().unlink()
