"""The live chat channel's AI agent: which assistant answers, as whom, and when.

The agent takes part in Odoo's own routing the way a chatbot does: when it answers first, it
is the operator im_livechat puts in the visitor's conversation (``_get_operator``), so the
visitor's widget shows its name and avatar, unchanged. Human operators are still chosen by
im_livechat's rules (``_llm_human_operator``) when the agent hands a conversation over.
"""

import uuid
from datetime import datetime

import pytz

from odoo import Command, api, fields, models
from odoo.addons.base.models.res_partner import _tz_get
from odoo.exceptions import ValidationError

AGENT_MODES = [
    ("always", "Always first"),
    ("outside_hours", "Outside operators' hours"),
    ("no_operator", "Only when no operator is available"),
]
# Context key: the channel's operators without its agent (hand-off, mode checks).
HUMANS_ONLY = "llm_livechat_humans_only"
# The agent's email domain. A user's partner needs an email address (Odoo's contact form
# refuses to save one without), and the agent must never receive mail: ".invalid" names
# never exist (RFC 2606, 6761), so mail to it fails at once instead of reaching anyone.
AGENT_EMAIL_DOMAIN = "ai-agent.invalid"


def agent_email(login):
    """The agent user ``login``'s address (also given by migrations/18.0.0.2.0)."""
    return f"{login}@{AGENT_EMAIL_DOMAIN}"


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"

    llm_assistant_id = fields.Many2one(
        "llm.assistant", string="AI Assistant", ondelete="restrict",
        help="Answers the visitors of this channel: its instructions, model and knowledge "
             "sources. Only its tools marked safe for website visitors are offered. Empty: no "
             "AI agent.")
    llm_agent_user_id = fields.Many2one(
        "res.users", string="AI Agent User", readonly=True, copy=False, ondelete="restrict",
        help="The agent's own user: not an internal user (it never sees internal data), "
             "created with the first assistant set on the channel. Its partner is the member "
             "visitors see; its conversations and usage are its own.")
    llm_agent_warning = fields.Char(compute="_compute_llm_agent_warning")
    llm_agent_name = fields.Char(
        "Agent Name", compute="_compute_llm_agent", inverse="_inverse_llm_agent_name",
        help="The name visitors see on the agent's messages.")
    llm_agent_avatar = fields.Image(
        "Agent Avatar", compute="_compute_llm_agent", inverse="_inverse_llm_agent_avatar",
        max_width=512, max_height=512)
    llm_agent_mode = fields.Selection(
        AGENT_MODES, string="AI Answers", default="always", required=True,
        help="Always first: the agent takes every new conversation and hands over when needed. "
             "Outside operators' hours: operators take conversations during their hours, the "
             "agent outside them (and when none is available). Only when no operator is "
             "available: the agent takes what no operator can.")
    llm_hours_from = fields.Float("Operators From", default=9.0)
    llm_hours_to = fields.Float("Operators Until", default=17.0)
    llm_hours_tz = fields.Selection(_tz_get, string="Operators' Timezone", default="UTC")
    llm_max_message_chars = fields.Integer(
        "Max Visitor Message", default=2000,
        help="Longer messages are not sent to the model; the visitor is asked to shorten them.")
    llm_rate_limit = fields.Integer(
        "Visitor Messages per Minute", default=6,
        help="Messages of one visitor beyond this, within a minute, are not answered.")
    llm_budget_limit = fields.Float(
        "Monthly AI Budget", help="Tokens (or money) the agent may use a month; when spent, "
                                  "conversations are handed over. 0: no budget.")
    llm_budget_unit = fields.Selection(
        [("tokens", "Tokens"), ("money", "Money")], string="Budget Unit", default="tokens",
        required=True)
    llm_budget_id = fields.Many2one("llm.budget", string="AI Budget", readonly=True, copy=False)
    llm_handoff_turns = fields.Integer(
        "Hand Over After Answers", default=0,
        help="Hand the conversation to an operator after this many AI answers that the visitor "
             "did not mark helpful (thumbs up). 0: never on that count.")
    llm_handoff_unsourced = fields.Integer(
        "Hand Over After Unsourced Answers", default=2,
        help="Hand over after this many questions in a row for which no relevant knowledge "
             "passage was found (0: never); an answer from a passage starts the count again, "
             "and greetings (no question mark, fewer than four words) do not count. Only "
             "counted when the assistant has knowledge sources.")

    _sql_constraints = [
        ("llm_limits_positive",
         "CHECK(llm_max_message_chars > 0 AND llm_rate_limit > 0 AND llm_handoff_turns >= 0 "
         "AND llm_handoff_unsourced >= 0 AND llm_budget_limit >= 0)",
         "The AI agent's limits must be positive (0 turns off a hand-off rule or the budget)."),
    ]

    @api.constrains("llm_hours_from", "llm_hours_to")
    def _check_llm_hours(self):
        for channel in self:
            if not 0 <= channel.llm_hours_from < channel.llm_hours_to <= 24:
                raise ValidationError(self.env._(
                    "Operators' hours go from 0 to 24, and start before they end."))

    @api.depends("llm_assistant_id.model_id.supports_tools", "llm_assistant_id.auto_model")
    def _compute_llm_agent_warning(self):
        for channel in self:
            assistant = channel.llm_assistant_id.sudo()
            if not assistant or assistant.auto_model:
                channel.llm_agent_warning = False  # no agent, or a model chosen per question
                continue
            model = assistant.model_id or channel._llm_agent_default_model()
            if not model:
                channel.llm_agent_warning = self.env._(
                    "The agent has no model to answer with: every visitor would be handed "
                    "over at once. Give the assistant %s a model, or configure a provider and "
                    "its models in LLM > Configuration.", assistant.display_name)
            elif not model.supports_tools:
                channel.llm_agent_warning = self.env._(
                    "%s, the model the agent answers with, is not marked Tools: it gets no "
                    "tools, so it cannot hand over when a visitor asks for a person. Mark it in "
                    "LLM > Configuration > Models if it can call tools, or give the assistant "
                    "a model that can.", model.display_name)
            else:
                channel.llm_agent_warning = False

    def _llm_agent_default_model(self):
        """The model the agent's conversations get when its assistant sets none: the one LLM
        Chat gives a new conversation of the agent's user (llm.thread._llm_ui_default_model)."""
        self.ensure_one()
        threads = self.env["llm.thread"]
        agent = self.llm_agent_user_id
        if agent:  # else a channel being set up (the form): the current user's guess
            threads = threads.with_user(agent).with_company(agent.company_id)
        return threads._llm_ui_default_model()

    @api.depends("llm_agent_user_id.name", "llm_agent_user_id.image_1920")
    def _compute_llm_agent(self):
        for channel in self:
            channel.llm_agent_name = channel.llm_agent_user_id.name
            channel.llm_agent_avatar = channel.llm_agent_user_id.image_1920

    def _inverse_llm_agent_name(self):
        for channel in self.filtered("llm_agent_user_id"):
            channel.llm_agent_user_id.sudo().name = channel.llm_agent_name

    def _inverse_llm_agent_avatar(self):
        for channel in self.filtered("llm_agent_user_id"):
            channel.llm_agent_user_id.sudo().image_1920 = channel.llm_agent_avatar

    @api.model_create_multi
    def create(self, vals_list):
        # The agent's name and avatar are its user's: written once the user exists.
        agent_values = [{key: vals.pop(key) for key in ("llm_agent_name", "llm_agent_avatar")
                         if key in vals} for vals in vals_list]
        channels = super().create(vals_list)
        for channel, values in zip(channels, agent_values):
            channel._llm_sync_agent(values.get("llm_agent_name"))
            if values:
                channel.write(values)
        return channels

    def write(self, vals):
        result = super().write(vals)
        if {"llm_assistant_id", "llm_budget_limit", "llm_budget_unit"} & set(vals):
            self._llm_sync_agent()
        return result

    def _llm_sync_agent(self, name=None):
        """Give a channel with an assistant its agent user, and keep its budget in step."""
        for channel in self.filtered("llm_assistant_id"):
            if not channel.llm_agent_user_id:
                channel.llm_agent_user_id = channel._llm_create_agent_user(name)
            channel._llm_sync_budget()

    def _llm_create_agent_user(self, name=None):
        """A portal-type user (``share``) in the live chat agent group only: it can own its
        LLM conversations and read the LLM configuration, and nothing internal. It has no
        password: nobody logs in as it, and an address no mail reaches (``agent_email``)."""
        self.ensure_one()
        login = f"llm_livechat_agent_{uuid.uuid4().hex[:12]}"
        return self.env["res.users"].sudo().with_context(no_reset_password=True).create({
            "name": name or self.env._("%s Assistant", self.name),
            "login": login,
            "email": agent_email(login),
            "groups_id": [Command.set([self.env.ref("base.group_portal").id,
                                       self.env.ref("llm_livechat.group_livechat_agent").id])],
            "company_id": self.env.company.id,
            "company_ids": [Command.set(self.env.company.ids)],
        })

    def _llm_sync_budget(self):
        """The channel's monthly budget is a hard ``llm.budget`` of its agent user, so the
        engine's own check refuses calls past it (and the hand-off rule reads the same)."""
        self.ensure_one()
        budget = self.llm_budget_id.sudo()
        if not self.llm_budget_limit:
            budget.active = False
            return
        values = {
            "name": self.env._("AI agent of %s", self.name), "scope": "user",
            "user_id": self.llm_agent_user_id.id, "unit": self.llm_budget_unit,
            "limit": self.llm_budget_limit, "hard": True, "active": True,
            "company_id": self.llm_agent_user_id.company_id.id,
        }
        if budget:
            budget.write(values)
        else:
            self.llm_budget_id = self.env["llm.budget"].sudo().create(values)

    # ------------------------------------------------------------------
    # Who answers
    # ------------------------------------------------------------------

    @api.depends("user_ids.im_status")
    @api.depends_context(HUMANS_ONLY)
    def _compute_available_operator_ids(self):
        """The agent counts as an available operator (so that the widget is offered and
        im_livechat opens conversations with it), except where only humans are asked for."""
        super()._compute_available_operator_ids()
        if self.env.context.get(HUMANS_ONLY):
            return
        for channel in self.filtered(lambda c: c.llm_assistant_id and c.llm_agent_user_id):
            channel.available_operator_ids |= channel.llm_agent_user_id

    def _get_operator(self, previous_operator_id=None, lang=None, country_id=None):
        human = self._llm_human_operator(previous_operator_id, lang, country_id)
        if self.llm_assistant_id and self.llm_agent_user_id and self._llm_agent_first(human):
            return self.llm_agent_user_id
        return human

    def _llm_human_operator(self, previous_operator_id=None, lang=None, country_id=None):
        """The human operator im_livechat's rules choose (language, country, load), or False."""
        return super(ImLivechatChannel, self.with_context(**{HUMANS_ONLY: True}))._get_operator(
            previous_operator_id=previous_operator_id, lang=lang, country_id=country_id)

    def _llm_agent_first(self, human):
        """Whether the agent takes a new conversation, ``human`` being the operator that
        would take it otherwise (False: none available)."""
        self.ensure_one()
        if not human or self.llm_agent_mode == "always":
            return True
        if self.llm_agent_mode == "outside_hours":
            return not self._llm_in_operator_hours()
        return False

    def _llm_in_operator_hours(self, now=None):
        self.ensure_one()
        local = (now or datetime.now(pytz.utc)).astimezone(pytz.timezone(self.llm_hours_tz or "UTC"))
        hour = local.hour + local.minute / 60
        return self.llm_hours_from <= hour < self.llm_hours_to
