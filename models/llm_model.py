from odoo import api, fields, models, tools

from ..providers import known_capabilities


class LlmModel(models.Model):
    _name = "llm.model"
    _inherit = ["llm.cached.config"]  # _llm_chat_model_ids
    _description = "LLM Model"
    _order = "provider_id, sequence, name, id"

    name = fields.Char(required=True, help="Shown to users, e.g. \"GPT-4o mini\".")
    api_id = fields.Char(
        string="API ID", required=True,
        help="The model name the provider's API takes, e.g. gpt-4o-mini, claude-sonnet-4-5 or "
             "llama3.2; for Azure OpenAI, the deployment name.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    provider_id = fields.Many2one("llm.provider", string="Provider", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    use = fields.Selection(
        [("chat", "Chat"), ("embedding", "Embedding")], required=True, default="chat",
        help="Chat models answer conversations; embedding models turn text into vectors.")
    context_window = fields.Integer(
        help="Tokens the model reads at most (prompt and answer); 0 if unknown.")
    max_output_tokens = fields.Integer(
        string="Max Output Tokens", help="Tokens the model writes at most in one answer; 0 if unknown.")
    input_price = fields.Float(
        string="Input Price", digits=(16, 4),
        help="Price of one million input (prompt) tokens, in the currency the provider bills.")
    output_price = fields.Float(
        string="Output Price", digits=(16, 4),
        help="Price of one million output (answer) tokens, in the currency the provider bills.")
    # A new model is marked by its API id's family (as a fetched one is when its provider's
    # list says nothing); a manager corrects it here. Tools are sent only to models marked
    # Tools (engine/generation.py, _read_call).
    supports_tools = fields.Boolean(
        string="Tools", help="The model can call tools: a conversation's tools are sent only to "
                             "models marked so.")
    supports_vision = fields.Boolean(string="Vision", help="The model reads images.")
    supports_reasoning = fields.Boolean(
        string="Reasoning", help="The model can reason before answering (reasoning effort).")
    is_default = fields.Boolean(
        string="Default", compute="_compute_is_default", inverse="_inverse_is_default",
        help="The chat model new conversations with this provider start with.")

    _sql_constraints = [
        ("api_id_provider_unique", "UNIQUE(provider_id, api_id)",
         "A provider lists each API id only once."),
        ("tokens_positive", "CHECK(context_window >= 0 AND max_output_tokens >= 0)",
         "Token counts cannot be negative."),
        ("prices_positive", "CHECK(input_price >= 0 AND output_price >= 0)", "Prices cannot be negative."),
    ]

    @api.model
    def _llm_chat_models(self):
        """The chat models the current user may pick (record rules apply): active ones of
        active providers, in the pickers' order. Read at every send: the ids are kept per
        process (llm.cached.config clears them when a model or provider is written), keyed as
        Odoo keeps the record rules' own domains (user, superuser mode, companies)."""
        self.check_access("read")
        return self.browse(self._llm_chat_model_ids(
            tuple(self.env.companies.ids), self.env.context.get("active_test", True)))

    @tools.ormcache("self.env.uid", "self.env.su", "company_ids", "active_test")
    def _llm_chat_model_ids(self, company_ids, active_test):
        return tuple(self.search([("use", "=", "chat"), ("provider_id.active", "=", True)],
                                 order="provider_id, sequence, id").ids)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            known = known_capabilities(vals.get("api_id") or "")
            vals.setdefault("supports_tools", "tools" in known)
            vals.setdefault("supports_vision", "vision" in known)
        return super().create(vals_list)

    @api.onchange("api_id")
    def _onchange_api_id_capabilities(self):
        """The form's new model is marked as ``create`` would mark it; an existing one keeps
        what a manager set."""
        if not self._origin:
            known = known_capabilities(self.api_id or "")
            self.supports_tools = "tools" in known
            self.supports_vision = "vision" in known

    @api.depends("provider_id.default_model_id")
    def _compute_is_default(self):
        for model in self:
            model.is_default = model.provider_id.default_model_id == model

    def _inverse_is_default(self):
        for model in self:
            if model.is_default:
                model.provider_id.default_model_id = model
            elif model.provider_id.default_model_id == model:
                model.provider_id.default_model_id = False

    @api.depends("name", "provider_id.name")
    def _compute_display_name(self):
        for model in self:
            model.display_name = f"{model.name} ({model.provider_id.name})" if model.provider_id else model.name
