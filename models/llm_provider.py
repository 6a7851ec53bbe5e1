import dataclasses
import json
import logging
import os
from urllib.parse import urlsplit

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..providers import ProviderConfig, ProviderError, RetryPolicy, get_provider

_logger = logging.getLogger(__name__)

MANAGER = "llm_thread.group_llm_manager"
# Seconds a manager's check (Test connection, Fetch models) waits for the provider's answer;
# answers keep the provider's own timeout.
ADMIN_CHECK_TIMEOUT = 15.0
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434",
}
OLLAMA_PORT = 11434
# (environment variable holding the key or host, api format, provider name, default chat model)
ENVIRONMENT_PROVIDERS = (
    ("OPENAI_API_KEY", "openai", "OpenAI", "gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic", "Anthropic", "claude-sonnet-4-5"),
    ("OLLAMA_HOST", "ollama", "Ollama", "llama3.2"),
)


class LlmProvider(models.Model):
    _name = "llm.provider"
    _inherit = ["llm.cached.config"]  # _llm_cached_config
    _description = "LLM Provider"
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, help="Shown to users and in error messages, e.g. \"OpenAI (team key)\".")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", string="Company", default=lambda self: self.env.company,
        help="Leave empty to share the provider between companies.")
    api_format = fields.Selection(
        [("openai", "OpenAI (and compatible)"), ("anthropic", "Anthropic"), ("ollama", "Ollama")],
        string="API Format", required=True, default="openai",
        help="The wire protocol: OpenAI Chat Completions (OpenAI, Azure OpenAI, Groq, Mistral, "
             "DeepSeek, OpenRouter, vLLM, LM Studio...), Anthropic Messages, or Ollama's native API.")
    base_url = fields.Char(
        string="Base URL", required=True, default=DEFAULT_BASE_URLS["openai"],
        help="OpenAI format: the URL up to and including the version, e.g. https://api.openai.com/v1; "
             "Azure OpenAI: the resource URL, e.g. https://my-resource.openai.azure.com. "
             "Anthropic: https://api.anthropic.com. Ollama: http://localhost:11434.")
    # The key itself never goes to the browser, not even to managers: ``groups="."`` makes it
    # readable and writable in sudo only (server code). The form edits it through the
    # write-only ``api_key_input`` and shows ``api_key_hint``.
    api_key = fields.Char(string="API Key", groups=".", copy=False)
    api_key_input = fields.Char(
        string="New API Key", compute="_compute_api_key_input", inverse="_inverse_api_key_input",
        groups=MANAGER,
        help="Write-only: the key is stored on save, replacing any stored one, and never shown "
             "again.")
    api_key_hint = fields.Char(string="Stored Key", compute="_compute_api_key_hint", groups=MANAGER)
    # The form's hints (placeholder_field): they follow the record, a fixed one would lie.
    api_key_placeholder = fields.Char(compute="_compute_api_key_placeholder", groups=MANAGER)
    base_url_placeholder = fields.Char(compute="_compute_base_url_placeholder")
    extra_headers = fields.Text(
        string="Extra Headers", groups=MANAGER,
        help="JSON object of HTTP headers added to every request, e.g. "
             "{\"HTTP-Referer\": \"https://example.com\"} for OpenRouter.")
    azure_api_version = fields.Char(
        string="Azure API Version",
        help="Azure OpenAI only, e.g. 2024-10-21: calls then go to the deployment URL with the "
             "api-key header, and a model's API id is its deployment name.")
    max_tokens_param = fields.Selection(
        [("max_completion_tokens", "max_completion_tokens"), ("max_tokens", "max_tokens")],
        string="Answer Length Parameter",
        help="OpenAI format only: the name the server takes for the answer's length limit. "
             "Empty: max_completion_tokens for OpenAI and Azure OpenAI (their reasoning models "
             "refuse the old name), max_tokens for every other server (many only know it). "
             "Set max_completion_tokens for a compatible server that wants it, e.g. Groq.")
    timeout = fields.Integer(
        string="Timeout (s)", default=120, required=True,
        help="Seconds without any data from the provider before a request fails.")
    currency_id = fields.Many2one(
        "res.currency", string="Billing Currency", required=True,
        default=lambda self: self.env.ref("base.USD", raise_if_not_found=False),
        help="The currency of the models' prices; usage costs are converted from it into the "
             "company's currency.")
    model_ids = fields.One2many("llm.model", "provider_id", string="Models")
    model_count = fields.Integer(compute="_compute_model_count")
    default_model_id = fields.Many2one(
        "llm.model", string="Default Chat Model", check_company=True,
        domain="[('provider_id', '=', id), ('use', '=', 'chat')]",
        help="The model new conversations with this provider start with.")

    _sql_constraints = [
        ("timeout_positive", "CHECK(timeout > 0)", "The timeout must be a positive number of seconds."),
    ]

    @api.constrains("base_url")
    def _check_base_url(self):
        for provider in self:
            parts = urlsplit((provider.base_url or "").strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValidationError(self.env._(
                    "The base URL of %(provider)s must be an http:// or https:// address, e.g. "
                    "%(example)s.", provider=provider.name,
                    example=DEFAULT_BASE_URLS[provider.api_format]))

    @api.constrains("extra_headers")
    def _check_extra_headers(self):
        for provider in self.sudo():
            if provider.extra_headers:
                provider._parse_extra_headers()

    @api.constrains("default_model_id")
    def _check_default_model(self):
        for provider in self:
            if provider.default_model_id and provider.default_model_id.provider_id != provider:
                raise ValidationError(self.env._("The default model of %s must be one of its models.", provider.name))

    def _compute_api_key_input(self):
        self.api_key_input = False

    def _inverse_api_key_input(self):
        # Only managers write api_key_input (its groups), on providers their rules let them write.
        for provider in self:
            if provider.api_key_input:
                provider.sudo().api_key = provider.api_key_input.strip()
        # Write-only: the typed key must not stay readable from the cache either.
        self.invalidate_recordset(["api_key_input"])

    @api.depends("api_key")
    def _compute_api_key_hint(self):
        for provider in self:
            key = provider.sudo().api_key or ""
            # Enough to tell two keys apart, too little to use one.
            provider.api_key_hint = f"…{key[-4:]}" if len(key) >= 12 else ("•" * 4 if key else False)

    @api.depends("api_key_hint")
    def _compute_api_key_placeholder(self):
        for provider in self:
            provider.api_key_placeholder = self.env._("Type a key to replace the stored one") \
                if provider.api_key_hint else self.env._("Type the provider's API key")

    @api.depends("api_format")
    def _compute_base_url_placeholder(self):
        for provider in self:
            provider.base_url_placeholder = DEFAULT_BASE_URLS.get(provider.api_format)

    @api.depends("model_ids")
    def _compute_model_count(self):
        counts = dict(self.env["llm.model"]._read_group(
            [("provider_id", "in", self.ids)], ["provider_id"], ["__count"]))
        for provider in self:
            provider.model_count = counts.get(provider, 0)

    @api.onchange("api_format")
    def _onchange_api_format(self):
        """Suggest the format's usual base URL unless the user typed another one."""
        if not self.base_url or self.base_url in DEFAULT_BASE_URLS.values():
            self.base_url = DEFAULT_BASE_URLS[self.api_format]
        if self.api_format != "openai":
            self.azure_api_version = False

    # ------------------------------------------------------------------
    # The provider layer
    # ------------------------------------------------------------------

    def _parse_extra_headers(self):
        self.ensure_one()
        try:
            headers = json.loads(self.extra_headers or "{}")
        except ValueError as exc:
            raise ValidationError(self.env._("Extra headers of %(provider)s are not valid JSON: %(error)s",
                                    provider=self.name, error=exc)) from None
        if not isinstance(headers, dict) or not all(
                isinstance(key, str) and isinstance(value, str) for key, value in headers.items()):
            raise ValidationError(self.env._("Extra headers of %s must be a JSON object of text values, "
                                    "e.g. {\"X-Title\": \"Odoo\"}.", self.name))
        return headers

    def _provider_config(self, **overrides):
        """The :class:`ProviderConfig` of this record. Reads the key in sudo: any user who may
        use the provider can chat through it without ever being able to read the key."""
        self.ensure_one()
        return dataclasses.replace(self._llm_cached_config(self.id), **overrides)

    @api.model
    @tools.ormcache("provider_id")
    def _llm_cached_config(self, provider_id):
        # Read before every answer: kept per process until a provider is written
        # (llm.cached.config). A frozen dataclass, shared by every transaction.
        provider = self.sudo().browse(provider_id)
        return ProviderConfig(
            name=provider.name,
            api_format=provider.api_format,
            base_url=provider.base_url.strip(),
            api_key=provider.api_key or "",
            extra_headers=provider._parse_extra_headers(),
            azure_api_version=(provider.azure_api_version or "").strip() if provider.api_format == "openai" else "",
            max_tokens_param=(provider.max_tokens_param or "")
            if provider.api_format == "openai" else "",
            timeout=float(provider.timeout),
        )

    def _get_provider(self, **overrides):
        """The wire-format client of this provider (see ``providers.base.Provider``);
        ``overrides`` replace fields of its config, e.g. ``timeout``."""
        return get_provider(self._provider_config(**overrides))

    def _error_message(self, error):
        """``error``'s message in the user's language (its template was extracted for
        translation from the providers package, where it is marked with ``_()``). A problem
        only an LLM manager can fix tells a manager where, and anyone else whom to ask."""
        if error.ask_template and not self.env.user.has_group(MANAGER):
            return self.env._(error.ask_template, **error.params,
                              managers=self.env["llm.budget"]._llm_manager_names(self.env.company))
        return self.env._(error.template, **error.params)

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def _notify(self, message, kind, refresh=False):
        action = {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": kind, "sticky": kind == "danger"},
        }
        if refresh:
            action["params"]["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return action

    def _notify_error(self, error):
        """A failed call: its sentence as the title, the provider's own words under it."""
        action = self._notify(self._error_message(error), "danger")
        if error.detail:
            params = action["params"]
            params["title"], params["message"] = params["message"], error.detail
        return action

    def _get_admin_provider(self):
        """The client for a manager's check (Test connection, Fetch models): a server that
        takes the connection but never answers fails it after ADMIN_CHECK_TIMEOUT seconds,
        not after the whole timeout that answers get, with the form waiting meanwhile."""
        return self._get_provider(timeout=min(float(self.timeout), ADMIN_CHECK_TIMEOUT))

    def action_test_connection(self):
        self.ensure_one()
        # Sends the stored key to the provider's endpoint: for the managers of that provider.
        self.check_access("write")
        try:
            models_found = self._get_admin_provider().list_models()
        except ProviderError as error:
            return self._notify_error(error)
        return self._notify(self.env._("Connected to %(provider)s: %(count)s models available.",
                              provider=self.name, count=len(models_found)), "success")

    def action_fetch_models(self):
        self.ensure_one()
        self.check_access("write")
        try:
            created, updated = self._fetch_models(self._get_admin_provider())
        except ProviderError as error:
            return self._notify_error(error)
        return self._notify(self.env._("%(provider)s: %(created)s models added, %(updated)s updated.",
                              provider=self.name, created=created, updated=updated), "success", refresh=True)

    @api.model
    def _llm_without_chat_models(self):
        """The active providers the user may use that have no chat model yet (Fetch models
        never clicked, or it failed): a "nothing to chat with" message names them."""
        return self.search([]) - self.env["llm.model"]._llm_chat_models().provider_id

    @api.model
    def _llm_not_configured_message(self):
        """Why the user has no chat model at all, and what to do, for whom can do it."""
        empty = self._llm_without_chat_models()
        if self.env.user.has_group(MANAGER):
            if empty:
                return self.env._(
                    "No chat model is set up yet for %s: click Fetch models on the provider in "
                    "LLM > Configuration > Providers, or add a model in LLM > Configuration > "
                    "Models.", ", ".join(empty.mapped("name")))
            return self.env._("No AI provider is configured: add one in LLM > Configuration > "
                              "Providers, with a chat model.")
        managers = self.env["llm.budget"]._llm_manager_names(self.env.company)
        if empty:
            return self.env._(
                "No chat model is set up yet for %(providers)s: ask an LLM manager (%(managers)s) "
                "to fetch its models or to add one.",
                providers=", ".join(empty.mapped("name")), managers=managers)
        return self.env._("No AI provider is configured: ask an LLM manager (%s) to add one in "
                          "LLM > Configuration > Providers.", managers)

    def action_view_models(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("llm_thread.action_llm_model")
        action["domain"] = [("provider_id", "=", self.id)]
        action["context"] = {"default_provider_id": self.id}
        return action

    def _fetch_models(self, provider=None):
        """Import the provider's model list: a model already known (same API id, archived
        ones included) only gets what it lacks (a context window the list now gives, the
        list prices of providers/catalogue.py...), so
        fetching again changes nothing and keeps what a manager entered.
        Returns ``(created, updated)``; raises ``ProviderError``."""
        self.ensure_one()
        infos = (provider or self._get_provider()).list_models()
        Model = self.env["llm.model"].with_context(active_test=False)
        existing = {model.api_id: model for model in Model.search([("provider_id", "=", self.id)])}
        created = updated = 0
        for info in infos:
            values = {
                "name": info.display_name or info.api_id,
                "use": info.use,
                "context_window": info.context_window,
                "max_output_tokens": info.max_output_tokens,
                "supports_tools": "tools" in info.capabilities,
                "supports_vision": "vision" in info.capabilities,
                "supports_reasoning": "reasoning" in info.capabilities,
            }
            # Neither list gives prices, OpenAI's no limits: known models' list figures.
            values.update(Model._llm_list_figures(self, info.api_id, values))
            model = existing.get(info.api_id)
            if not model:
                Model.create({**values, "api_id": info.api_id, "provider_id": self.id})
                created += 1
                continue
            changes = {key: value for key, value in values.items() if value and not model[key]}
            if changes:
                model.write(changes)
                updated += 1
        if not self.default_model_id:
            self.default_model_id = self._llm_first_default_model()
        return created, updated

    def _llm_first_default_model(self):
        """The default chat model a fetch gives a provider without one: the cheapest priced
        chat model with tools (the list's first by name is often an expensive one, e.g.
        chatgpt-4o-latest), else the first chat model (Ollama, unknown prices)."""
        chat_models = self.model_ids.filtered(lambda m: m.use == "chat")
        priced = chat_models.filtered(lambda m: m.supports_tools and (m.input_price or m.output_price))
        if priced:
            return min(priced, key=lambda m: (m.input_price + m.output_price, m.sequence, m.id))
        return chat_models[:1]

    # ------------------------------------------------------------------
    # Configuration from the environment (used by ``npm start``)
    # ------------------------------------------------------------------

    @api.model
    def _configure_from_environment(self, environ=None):
        """Create or update a provider for each of OPENAI_API_KEY (with OPENAI_BASE_URL),
        ANTHROPIC_API_KEY (with ANTHROPIC_BASE_URL) and OLLAMA_HOST that is set, so that chat
        works at once: the provider's models are fetched when it is reachable, and a usual
        chat model is made its default otherwise. Running it again changes nothing. Returns
        the providers."""
        environ = os.environ if environ is None else environ
        providers = self.browse()
        for variable, api_format, name, default_model in ENVIRONMENT_PROVIDERS:
            value = (environ.get(variable) or "").strip()
            if not value:
                continue
            if api_format == "ollama":
                values = {"base_url": _ollama_url(value)}
            else:
                # The base URL variables the OpenAI and Anthropic SDKs read, too.
                base_url = environ.get(f"{variable.removesuffix('_API_KEY')}_BASE_URL") or ""
                values = {"api_key": value,
                          "base_url": base_url.strip() or DEFAULT_BASE_URLS[api_format]}
            provider = self.with_context(active_test=False).search(
                [("api_format", "=", api_format), ("name", "=", name)], limit=1)
            if provider:
                provider.write({**values, "active": True})
            else:
                provider = self.create({**values, "name": name, "api_format": api_format})
            provider._ensure_default_model(default_model)
            providers |= provider
        return providers

    def _ensure_default_model(self, api_id):
        """Fetch the models when reachable (quickly, without retries: a server starts behind
        this), else make sure ``api_id`` exists; then give the provider a default model."""
        self.ensure_one()
        if self.default_model_id:
            return  # set by an earlier run or by a manager: keep it
        try:
            self._fetch_models(self._get_provider(timeout=10.0, retry=RetryPolicy(max_retries=0)))
        except ProviderError as error:
            _logger.warning("LLM provider %s: models not fetched: %s", self.name, error.message)
        chat_models = self.model_ids.filtered(lambda m: m.use == "chat")
        # Ollama lists pulled models with their tag: "llama3.2" is "llama3.2:latest".
        preferred = chat_models.filtered(lambda m: m.api_id in (api_id, f"{api_id}:latest"))[:1]
        if not chat_models:
            preferred = self.env["llm.model"].create({
                "name": api_id, "api_id": api_id, "provider_id": self.id})
        self.default_model_id = preferred or self.default_model_id


def _ollama_url(host):
    """OLLAMA_HOST read as Ollama's own client reads it: without a scheme it is a host and
    optional port (11434 by default); with one, a URL whose port defaults to the scheme's."""
    if "://" in host:
        return host.rstrip("/")
    parts = urlsplit(f"http://{host}")
    netloc = parts.netloc if parts.port else f"{parts.netloc}:{OLLAMA_PORT}"
    return f"http://{netloc}{parts.path}".rstrip("/")

