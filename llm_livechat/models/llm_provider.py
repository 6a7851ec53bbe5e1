from odoo import fields, models


class LlmProvider(models.Model):
    _inherit = "llm.provider"

    # When the provider's LLM managers were last told that the live chat agent failed on it,
    # by kind of failure ({"auth": "2026-12-01T06:40:00"}): see
    # discuss.channel._llm_notify_failure. Written in SQL only.
    livechat_failure_notices = fields.Json(readonly=True, copy=False)
