from odoo.http import request

from odoo.addons.im_livechat.controllers.webclient import WebClient


class LlmLivechatWebClient(WebClient):

    def _process_request_for_internal_user(self, store, **kwargs):
        super()._process_request_for_internal_user(store, **kwargs)
        # What Discuss asks for when it opens (with its live chat channels): the conversations
        # the AI answers, marked in its live chat section.
        if kwargs.get("livechat_channels"):
            store.add(request.env["discuss.channel"]._llm_discuss_conversations())
