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

    def _to_store(self, store, **kwargs):
        super()._to_store(store, **kwargs)
        # The AI agent is a bot, as im_livechat's chatbots are: once an operator takes over,
        # the conversation is still named after the visitor, not after the agent (a bot is
        # no correspondent), and nobody opens a chat with the agent from the member list.
        for member in self.filtered(lambda m: m.channel_id.channel_type == "livechat"):
            # sudo: the channel's agent, as im_livechat reads its chatbot's operator.
            agent = member.channel_id.sudo().llm_agent_partner_id
            if agent and member.partner_id == agent:
                store.add(member, {"is_bot": True})
