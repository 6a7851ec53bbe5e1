from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Adds the company's currency (ISO code), in which llm.usage costs are recorded: the
        usage report's pivot formats its cost sums with it (the "llm_cost" formatter), since a
        pivot cell knows no currency."""
        info = super().session_info()
        if self.env.user._is_internal():
            info["llm_currency"] = self.env.company.currency_id.name
        return info
