from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .llm_thread import DEFAULT_MAX_ITERATIONS, DEFAULT_RUNS_AT_ONCE


class ResConfigSettings(models.TransientModel):
    """The AI block of General Settings: links to the LLM configuration, and the system
    parameters the engine reads (llm_thread.py), with their defaults."""
    _inherit = "res.config.settings"

    llm_max_iterations = fields.Integer(
        string="Tool Steps per Answer", config_parameter="llm_thread.max_iterations",
        default=DEFAULT_MAX_ITERATIONS,
        help="How many times one answer may call tools and read their results before it must "
             "answer; beyond that the answer stops and says so.")
    llm_action_runs_at_once = fields.Integer(
        string="Answers at Once for Actions", config_parameter="llm_thread.action_runs_at_once",
        default=DEFAULT_RUNS_AT_ONCE,
        help="When a server action or an automation starts answers on many records, how many "
             "ask their model at the same time (per server process); the others wait their "
             "turn. Lower it if the provider limits requests per minute.")

    @api.constrains("llm_max_iterations", "llm_action_runs_at_once")
    def _check_llm_positive(self):
        for settings in self:
            if settings.llm_max_iterations < 1 or settings.llm_action_runs_at_once < 1:
                raise ValidationError(self.env._(
                    "AI settings: the tool steps per answer and the answers at once for actions "
                    "must be at least 1."))
