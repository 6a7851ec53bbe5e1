"""``llm.assistant``: what a conversation's assistant is (instructions, model, generation
settings, tools, starter prompts) and who may use it where.

Kept generic: anything that talks to a model on someone's behalf (the chat, later the live
chat agent and the knowledge base) can take an assistant and ask it for its instructions
(``_llm_instructions``), its options (``_llm_chat_options``) and its tools.

Managers (LLM / Manager) write assistants; their instructions are rendered as the reader
with field-path placeholders only (see llm_placeholders.py), so no instruction can read or
do more than the user chatting could.
"""

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..providers.anthropic import MIN_THINKING_BUDGET
from ..providers.base import ChatOptions
from . import llm_placeholders
from .llm_thread import check_input
from .llm_tool import allowed

REASONING_EFFORTS = [("low", "Low"), ("medium", "Medium"), ("high", "High")]


class LlmAssistant(models.Model):
    _name = "llm.assistant"
    _inherit = ["llm.cached.config"]  # _llm_cached_settings
    _description = "LLM Assistant"
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True)
    description = fields.Char(translate=True, help="One line, shown in the assistant picker.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    instructions = fields.Text(
        translate=True,
        help="The system prompt. Placeholders are filled from the conversation's linked record "
             "as the user chatting: {{ record.partner_id.name }}, {{ user.name }}, "
             "{{ company.name }}, with a default after |||: {{ record.user_id.name ||| "
             "nobody }}. A field the user may not read stays empty.")
    model_id = fields.Many2one(
        "llm.model", string="Model", ondelete="set null", domain=[("use", "=", "chat")],
        help="The model conversations with this assistant use. Empty: the conversation's own "
             "(the user picks it), or Auto.")
    model_warning = fields.Char(compute="_compute_model_warning")
    auto_model = fields.Boolean(
        "Auto Model", help="Before each answer, the cheapest chat model that fits the "
                           "conversation (see the conversation's Auto Model).")
    custom_temperature = fields.Boolean(
        "Set Temperature", help="Send a temperature; otherwise the model's default applies.")
    temperature = fields.Float(
        digits=(3, 2), default=0.7,
        help="0 for focused, repeatable answers, up to 2 for varied ones (Anthropic takes at "
             "most 1). Not sent to reasoning models, which accept only their default.")
    max_tokens = fields.Integer(
        "Max Answer Tokens",
        help="The most tokens one answer may have, reasoning included; 0: the model's default. "
             "A hard budget's remaining tokens apply too: the smaller wins.")
    reasoning_effort = fields.Selection(
        REASONING_EFFORTS, help="For models marked Reasoning only: how long the model thinks "
                                "before answering (OpenAI reasoning_effort, Anthropic thinking "
                                "budget 1,024 / 4,096 / 16,384 tokens, Ollama think).")
    thinking_budget = fields.Integer(
        "Thinking Budget",
        help="Anthropic models marked Reasoning: tokens the model may think (1,024 at least), "
             "instead of the effort's budget; 0: from the effort.")
    tool_ids = fields.Many2many(
        "llm.tool", string="Allowed Tools",
        help="The only tools its conversations may use (among those the user may use); a new "
             "conversation enables them all. Empty: any tool the user may use.")
    starter_prompts = fields.Text(
        translate=True, help="One per line: offered as suggestions in an empty conversation, "
                             "sent as written (no placeholder: prompts take them).")
    group_ids = fields.Many2many(
        "res.groups", string="Allowed Groups",
        help="Only members of one of these groups may use it; empty: every LLM user.")
    company_ids = fields.Many2many(
        "res.company", string="Allowed Companies",
        help="Only usable while working in one of these companies; empty: all.")
    res_model_ids = fields.Many2many(
        "ir.model", string="Offered On", ondelete="cascade",
        help="Offered in conversations about records of these models; empty: in every "
             "conversation.")
    is_default = fields.Boolean(
        "Default", help="New conversations on its models (or on any, when Offered On is "
                        "empty) start with this assistant; one of a model beats a general one.")

    _sql_constraints = [
        ("temperature_range", "CHECK(temperature >= 0 AND temperature <= 2)",
         "The temperature goes from 0 to 2."),
        ("tokens_positive", "CHECK(max_tokens >= 0 AND thinking_budget >= 0)",
         "Token counts cannot be negative."),
    ]

    @api.constrains("instructions", "res_model_ids")
    def _check_instructions(self):
        for assistant in self:
            llm_placeholders.check_placeholders(
                self.env, assistant.instructions, assistant.sudo().res_model_ids.mapped("model"))

    @api.depends("model_id.active", "model_id.provider_id.active")
    def _compute_model_warning(self):
        for assistant in self:
            model = assistant.model_id
            # False, not the empty recordset, without a model: a Char field would store
            # its repr ("llm.model()"), which the form's alert then shows.
            assistant.model_warning = bool(model) and not (
                model.active and model.provider_id.active) and self.env._(
                "Its model %s is archived, or its provider is: the assistant is offered to no "
                "one until it has a model in use.", model.display_name)

    @api.constrains("starter_prompts")
    def _check_starter_prompts(self):
        for assistant in self:
            if "{{" in (assistant.starter_prompts or ""):
                raise ValidationError(self.env._(
                    "The starter prompts of the assistant %s are sent as written: they take no "
                    "placeholder. For a text filled from the record, add a prompt in LLM > "
                    "Configuration > Prompts.", assistant.name))

    @api.constrains("thinking_budget")
    def _check_thinking_budget(self):
        for assistant in self:
            if 0 < assistant.thinking_budget < MIN_THINKING_BUDGET:
                raise ValidationError(self.env._(
                    "The thinking budget of the assistant %(assistant)s is %(budget)s tokens: "
                    "Anthropic takes %(minimum)s at least. Set %(minimum)s or more, or 0 to "
                    "follow the reasoning effort.", assistant=assistant.name,
                    budget=assistant.thinking_budget, minimum=MIN_THINKING_BUDGET))

    @api.constrains("model_id", "auto_model")
    def _check_model(self):
        for assistant in self:
            if assistant.model_id and assistant.auto_model:
                raise ValidationError(self.env._(
                    "The assistant %s has a model and Auto Model: choose one of them.",
                    assistant.name))
            # The form's domain offers chat models only; this holds for every other way in.
            if assistant.model_id.use not in (False, "chat"):
                raise ValidationError(self.env._(
                    "The model of the assistant %(assistant)s must be a chat model; %(model)s "
                    "makes embeddings.", assistant=assistant.name,
                    model=assistant.model_id.display_name))

    # ------------------------------------------------------------------
    # Who may use it where
    # ------------------------------------------------------------------

    def _llm_is_allowed(self):
        """Whether the current user, in the current company, may use this assistant."""
        settings = self._llm_settings()
        return allowed(self.env, settings["active"], settings["group_ids"],
                       settings["company_ids"])

    def _llm_offered_on(self, res_model):
        models_ = self._llm_model_names()
        return not models_ or res_model in models_

    def _llm_model_names(self):
        """The technical names of the models it is offered on (ir.model, which users may not
        read, holds nothing secret)."""
        return list(self._llm_settings()["model_names"])

    def _llm_settings(self):
        """What is read of the assistant before every answer to decide who may use it, with
        what model, and what it searches (not its translated texts): read once per process
        (``_llm_cached_settings``) rather than in four queries at every send."""
        self.ensure_one()
        return self._llm_cached_settings(self.id)

    @api.model
    @tools.ormcache("assistant_id")
    def _llm_cached_settings(self, assistant_id):
        # Kept until an assistant is written (llm.cached.config). A group, company or model
        # deleted meanwhile leaves an id nothing matches any more (the next clear of the
        # registry's cache, frequent in Odoo, drops it).
        return self.sudo().browse(assistant_id)._llm_settings_values()

    def _llm_settings_values(self):
        """``_llm_settings`` as read from the database (extended by other files); plain,
        immutable values, shared by every transaction of the process."""
        return {
            "active": self.active,
            "group_ids": frozenset(self.group_ids.ids),
            "company_ids": frozenset(self.company_ids.ids),
            "model_names": tuple(self.res_model_ids.mapped("model")),
            "model_id": self.model_id.id,
            "auto_model": self.auto_model,
            "tool_ids": tuple(self.tool_ids.ids),
        }

    @api.model
    def _llm_available(self, res_model=False):
        """The assistants the current user may use in a conversation about ``res_model``."""
        return self.search([]).filtered(
            lambda assistant: assistant._llm_is_allowed() and assistant._llm_model_usable()
            and assistant._llm_offered_on(res_model))

    def _llm_model_usable(self):
        """Whether the model it answers with, when it sets one, is a chat model the current
        user may use: an assistant whose model was archived, or is another company's, is not
        offered (nor made a conversation's default), rather than failing at the first send."""
        model_id = self._llm_settings()["model_id"]
        return not model_id or model_id in self.env["llm.model"]._llm_chat_models().ids

    @api.model
    def _llm_default_for(self, res_model=False):
        """The assistant a new conversation about ``res_model`` starts with (or none)."""
        defaults = self._llm_available(res_model).filtered("is_default")
        return defaults.filtered(lambda assistant: assistant._llm_model_names())[:1] \
            or defaults[:1]

    def _llm_check_usable(self, res_model, anywhere=False):
        """Raise a UserError unless the current user may use this assistant there;
        ``anywhere``: whatever the models it is offered on (its test conversations,
        llm_assistant_test.py)."""
        self.ensure_one()
        # Read in sudo: an assistant the record rules hide gets this message, not an
        # access error; the rules and _llm_is_allowed say the same.
        assistant = self.sudo()
        if not (assistant._llm_is_allowed()
                and (anywhere or assistant._llm_offered_on(res_model))):
            raise UserError(self.env._(
                "The assistant \"%s\" is not available to you in this conversation: pick "
                "another one.", assistant.name))

    # ------------------------------------------------------------------
    # What a generation takes from it
    # ------------------------------------------------------------------

    def _llm_instructions(self, record=None):
        """The instructions with their placeholders filled from ``record``, as the reader."""
        return llm_placeholders.render(self.env, self.instructions, record) if self else ""

    def _llm_chat_options(self, model, answer_cap=None):
        """The generation settings for a call to ``model`` (llm.model): the assistant's,
        with its answer limit and ``answer_cap`` (a hard budget's) combined, the smaller
        winning. Works on an empty recordset (no assistant): only the cap then."""
        limits = [limit for limit in (self.max_tokens, answer_cap) if limit]
        return ChatOptions(
            temperature=self.temperature if self.custom_temperature else None,
            max_tokens=min(limits, default=None),
            reasoning_effort=self.reasoning_effort or None,
            thinking_budget=self.thinking_budget or None,
            reasoning_model=bool(model.supports_reasoning),
        )

    def _llm_ui_option(self, available_tools):
        """The picker's entry; ``available_tools``: the llm.tool records the user may enable
        (read once for all the assistants listed)."""
        self.ensure_one()
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description or "",
            "model_id": self.model_id.id or False,
            "auto_model": self.auto_model,
            "offered_on": self._llm_model_names(),
            "is_default": self.is_default,
            # The tools it gives a conversation (_llm_apply_assistant): a draft shows them.
            "tool_names": (available_tools & self.sudo().tool_ids).mapped("name"),
            "starter_prompts": [line.strip() for line in (self.starter_prompts or "").splitlines()
                                if line.strip()],
        }


class LlmThreadAssistant(models.Model):
    _inherit = "llm.thread"

    assistant_id = fields.Many2one(
        "llm.assistant", string="Assistant", ondelete="set null", index="btree_not_null")

    def _llm_tool_names(self):
        names = super()._llm_tool_names()
        # Read in sudo (_llm_settings): tools the rules hide from the user still restrict
        # (they would otherwise read as "no restriction"); the user's own rights are checked
        # on top.
        tool_ids = self.assistant_id._llm_settings()["tool_ids"] if self.assistant_id else ()
        if tool_ids:
            catalogue = self.env["llm.tool"]._llm_catalogue()
            allowed_names = {catalogue[tool_id]["name"] for tool_id in tool_ids}
            names = [name for name in names if name in allowed_names]
        return names

    def _llm_model_and_provider(self):
        """The assistant's model (or Auto) when it sets one; refused when the user may not use
        the assistant here. Checked at every generation: the thread's fields may be written
        by other paths than the chat's."""
        assistant = self.assistant_id
        if assistant:
            assistant._llm_check_usable(self.res_model, anywhere=self._llm_tests(assistant))
            settings = assistant._llm_settings()
            if settings["model_id"]:
                model = self.env["llm.model"]._llm_chat_models().filtered(
                    lambda m: m.id == settings["model_id"])
                if not model:
                    raise UserError(self.env._(
                        "The assistant \"%(assistant)s\" answers with a model that is not "
                        "available to you (%(model)s). Pick another assistant, or ask an LLM "
                        "manager (LLM > Configuration > Assistants).",
                        assistant=assistant.name, model=assistant.sudo().model_id.display_name))
                return model, model.provider_id
            if settings["auto_model"]:
                model = self._llm_auto_model()
                return model, model.provider_id
        return super()._llm_model_and_provider()

    def _llm_instructions(self):
        return self.assistant_id._llm_instructions(self._llm_record())

    def _llm_chat_options(self, model, answer_cap):
        return self.assistant_id._llm_chat_options(model, answer_cap)

    def _llm_resolve_model(self, model, provider):
        client, api_id, window, reserve = super()._llm_resolve_model(model, provider)
        if self.assistant_id.max_tokens:
            reserve = min(reserve, self.assistant_id.max_tokens)
        return client, api_id, window, reserve

    # ------------------------------------------------------------------
    # Chat UI
    # ------------------------------------------------------------------

    def llm_update(self, values):
        # The chat fixes its model picker while the assistant sets the model; any other client
        # is told why, rather than the conversation showing a model that does not answer.
        if "model_id" in values or values.get("auto_model"):
            for thread in self.filtered("assistant_id"):
                fixed = thread.assistant_id._llm_settings()["model_id"]
                if fixed and thread.model_id.id == fixed and (
                        values.get("model_id", fixed) != fixed or values.get("auto_model")):
                    raise UserError(self.env._(
                        "The assistant \"%(assistant)s\" answers with %(model)s: pick another "
                        "assistant, or none, to choose the model.",
                        assistant=thread.assistant_id.name, model=thread.model_id.display_name))
        return super().llm_update(values)

    def _llm_apply_assistant(self, assistant):
        """Give the thread ``assistant``, with its model and tools when it sets them."""
        self.ensure_one()
        values = {"assistant_id": assistant.id}
        chat_models = self.env["llm.model"]._llm_chat_models()
        if assistant.model_id and assistant.model_id in chat_models:
            values.update(model_id=assistant.model_id.id,
                          provider_id=assistant.model_id.provider_id.id, auto_model=False)
        elif assistant.auto_model:
            values["auto_model"] = True
        if assistant.sudo().tool_ids:
            values["tool_names"] = (self.env["llm.tool"]._llm_available()
                                    & assistant.sudo().tool_ids).mapped("name")
        self.write(values)

    def llm_ui_set_assistant(self, assistant_id):
        """Pick an assistant (or none) for the user's own thread; returns its summary."""
        self.ensure_one()
        self._llm_check_owner()
        check_input(self.env, {"assistant_id": assistant_id}, {"assistant_id": ("id", "false")})
        assistant = self.env["llm.assistant"].browse(assistant_id or [])
        if assistant:
            assistant._llm_check_usable(self.res_model, anywhere=self._llm_tests(assistant))
            self._llm_apply_assistant(assistant)
        else:
            self.assistant_id = False
        return self._llm_ui_summary()

    @api.model
    def llm_ui_create(self, res_model=False, res_id=False, values=None):
        """As the chat's, with ``values['assistant_id']`` the assistant the draft showed
        (false: none); without it, the default one of ``res_model``. The assistant is applied
        before the other values, which the user chose in the draft after it."""
        values = dict(values or {})
        if "assistant_id" in values:
            check_input(self.env, {"assistant_id": values["assistant_id"]},
                        {"assistant_id": ("id", "false")})
            assistant = self.env["llm.assistant"].browse(values.pop("assistant_id") or [])
        else:
            assistant = self.env["llm.assistant"]._llm_default_for(res_model)
        thread = self.browse(super().llm_ui_create(res_model, res_id)["id"])
        if assistant:
            assistant._llm_check_usable(res_model)
            thread._llm_apply_assistant(assistant)
        if values:
            thread.llm_update(values)
        return thread.llm_ui_load()

    def _llm_ui_summary(self):
        # The name too: the picker shows an assistant the user may no longer pick.
        return dict(super()._llm_ui_summary(), assistant_id=self.assistant_id.id or False,
                    assistant_name=self.assistant_id.sudo().name or "")

    @api.model
    def llm_ui_options(self):
        available_tools = self.env["llm.tool"]._llm_available()
        return dict(super().llm_ui_options(), assistants=[
            assistant._llm_ui_option(available_tools)
            for assistant in self.env["llm.assistant"].search([])
            if assistant._llm_is_allowed() and assistant._llm_model_usable()])
