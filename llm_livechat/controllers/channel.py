from odoo.http import request, route

from odoo.addons.mail.controllers.discuss.channel import ChannelController


class LlmLivechatChannelController(ChannelController):

    @route()
    def discuss_channel_notify_typing(self, channel_id, is_typing):
        # Mail makes whoever types a member (_find_or_create_member_for_self): an operator
        # typing in a conversation the AI answers (Discuss lists it to them) would join it
        # without taking it over. They take it over when they send (message_post); until
        # then the agent answers, and the visitor is not told that someone types.
        if request.env.user._is_internal():
            channel = request.env["discuss.channel"].search([("id", "=", channel_id)])
            if channel.channel_type == "livechat" and not channel.is_member \
                    and channel._llm_ai_answering():
                return
        return super().discuss_channel_notify_typing(channel_id, is_typing)
