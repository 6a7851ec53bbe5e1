"""Configuration read before every answer (assistants, tools, providers) is kept per process
with ``tools.ormcache`` instead of being read again in each generation's transactions."""

from odoo import api, models


class LlmCachedConfig(models.AbstractModel):
    _name = "llm.cached.config"
    _description = "LLM configuration kept per process"

    # Writing a record clears the registry's cache: in this process at once, in the others
    # through Odoo's signalling (at their next request), as any Odoo ormcache.

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
