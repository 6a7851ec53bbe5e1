from odoo import api, fields, models, tools

from ..providers import known_capabilities
from ..providers.catalogue import list_figures

# What the catalogue fills when a manager left it empty (0).
LIST_FIELDS = ("input_price", "output_price", "context_window", "max_output_tokens")


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
        help="Tokens the model reads at most (prompt and answer); empty if unknown (the chat "
             "then assumes 8,192).")
    max_output_tokens = fields.Integer(
        string="Max Output Tokens", help="Tokens the model writes at most in one answer; empty if unknown.")
    # A known OpenAI or Anthropic model gets its list prices and limits when created or fetched
    # with none (providers/catalogue.py); a manager's figures are never replaced.
    input_price = fields.Float(
        string="Input Price", digits=(16, 4),
        help="Price of one million input (prompt) tokens, in the currency the provider bills. "
             "Known OpenAI and Anthropic models get their list price in USD: check it.")
    output_price = fields.Float(
        string="Output Price", digits=(16, 4),
        help="Price of one million output (answer) tokens, in the currency the provider bills.")
    # Without a price a model's use costs nothing: money budgets do not count it and the Auto
    # model takes it first. Ollama's models run locally: 0 is their price.
    price_missing = fields.Boolean(
        string="No Price", compute="_compute_price_missing", search="_search_price_missing",
        help="Neither price is set, for a provider that bills (not Ollama).")
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
        Provider = self.env["llm.provider"]
        for vals in vals_list:
            known = known_capabilities(vals.get("api_id") or "")
            vals.setdefault("supports_tools", "tools" in known)
            vals.setdefault("supports_vision", "vision" in known)
            vals.update(self._llm_list_figures(Provider.browse(vals.get("provider_id")),
                                               vals.get("api_id"), vals))
        return super().create(vals_list)

    @api.model
    def _llm_list_figures(self, provider, api_id, values):
        """The catalogue's list prices and limits of ``api_id`` (providers/catalogue.py) for a
        model of ``provider``, as field values, for those of ``values`` that are empty (0):
        none for Ollama (local, free) nor for a provider billing in another currency than the
        catalogue's USD."""
        figures = list_figures(api_id or "")
        if not figures or not provider or provider.api_format == "ollama" \
                or provider.currency_id.name != "USD":
            return {}
        return {key: getattr(figures, key) for key in LIST_FIELDS if not values.get(key)}

    @api.onchange("api_id")
    def _onchange_api_id_capabilities(self):
        """The form's new model is marked and priced as ``create`` would; an existing one
        keeps what a manager set."""
        if not self._origin:
            known = known_capabilities(self.api_id or "")
            self.supports_tools = "tools" in known
            self.supports_vision = "vision" in known
            self.update(self._llm_list_figures(
                self.provider_id, self.api_id, {key: self[key] for key in LIST_FIELDS}))

    @api.depends("input_price", "output_price", "provider_id.api_format")
    def _compute_price_missing(self):
        for model in self:
            model.price_missing = not (model.input_price or model.output_price) \
                and model.provider_id.api_format != "ollama"

    def _search_price_missing(self, operator, value):
        if (operator == "=") == bool(value):  # "= True" or "!= False"
            return [("input_price", "=", 0), ("output_price", "=", 0),
                    ("provider_id.api_format", "!=", "ollama")]
        return ["|", "|", ("input_price", "!=", 0), ("output_price", "!=", 0),
                ("provider_id.api_format", "=", "ollama")]

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
