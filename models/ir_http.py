from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Adds the currency (ISO code) in which llm.usage costs are recorded: the usage
        report's pivot formats its cost sums with it (the "llm_cost" formatter), since a pivot
        cell knows no currency. Empty when the user's companies keep their books in several
        currencies: a sum over their lines adds different currencies up, which a sign would
        pass off as one (the report groups by company to read them apart)."""
        info = super().session_info()
        # Ask AI in the command palette is offered to the users who may chat.
        info["llm_user"] = self.env.user.has_group("llm_thread.group_llm_user")
        if self.env.user._is_internal():
            currencies = self.env.user.company_ids.currency_id
            info["llm_currency"] = currencies.name if len(currencies) == 1 else ""
        return info
