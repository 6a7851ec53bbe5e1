"""``llm.prompt``: a reusable question with placeholders, offered as a one-click suggestion
in the AI panel of the records it applies to ("Summarise this record").

Managers keep the shared prompts; every user may keep private ones (``user_id``, record
rules in security/llm_assistant_security.xml, and ``_llm_check_owner`` for what a write
makes of a prompt). Placeholders are field paths filled as the
user asking (llm_placeholders.py), whoever wrote the prompt.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from . import llm_placeholders


class LlmPrompt(models.Model):
    _name = "llm.prompt"
    _description = "LLM Prompt"
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True, help="The suggestion's label.")
    text = fields.Text(
        required=True, translate=True,
        help="What is sent, placeholders filled from the record: {{ record.display_name }}, "
             "{{ record.partner_id.name ||| the customer }}, {{ user.name }}.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    res_model_ids = fields.Many2many(
        "ir.model", string="Applies To", ondelete="cascade",
        help="Offered on records of these models; empty: on every record.")
    user_id = fields.Many2one(
        "res.users", string="Private To", index=True, ondelete="cascade",
        default=lambda self: False if self.env.user.has_group("llm_thread.group_llm_manager")
        else self.env.user,
        help="Only this user sees the prompt; empty: everyone (LLM managers only).")
    suggested = fields.Boolean(
        "Suggested in the Chat", default=True,
        help="Offered as a one-click suggestion in the AI panel. Off: kept for the actions "
             "that run an assistant with it (Run Assistant), out of the users' way.")

    @api.model_create_multi
    def create(self, vals_list):
        self._llm_check_owner(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._llm_check_owner([vals])
        return super().write(vals)

    @api.model
    def _llm_check_owner(self, vals_list):
        """Only managers share a prompt or give it to someone else: the record rules check a
        prompt before a write, not what it becomes (a user's own prompt written shared was
        offered to everyone)."""
        if self.env.su or self.env.user.has_group("llm_thread.group_llm_manager"):
            return
        if {vals["user_id"] for vals in vals_list if "user_id" in vals} - {self.env.uid}:
            raise AccessError(self.env._(
                "Your prompts are private to you: only an LLM manager shares a prompt with "
                "everyone or gives it to another user."))

    @api.constrains("text", "res_model_ids")
    def _check_text(self):
        for prompt in self:
            llm_placeholders.check_placeholders(
                self.env, prompt.text, prompt.sudo().res_model_ids.mapped("model"))

    @api.model
    def _llm_for(self, res_model):
        """The prompts the current user is offered on a record of ``res_model``; with no
        ``res_model`` (a conversation of the LLM Chat app, about no record), those that apply
        to every record and name none of its fields."""
        # ir.model, which users may not read, holds nothing secret.
        prompts = self.search([("suggested", "=", True)])
        if not res_model:
            return prompts.filtered(
                lambda prompt: not prompt.sudo().res_model_ids
                and not llm_placeholders.names_record(prompt.text))
        return prompts.filtered(
            lambda prompt: not prompt.sudo().res_model_ids
            or res_model in prompt.sudo().res_model_ids.mapped("model"))

    def _llm_render(self, record):
        self.ensure_one()
        return llm_placeholders.render(self.env, self.text, record)


class LlmThreadPrompt(models.Model):
    _inherit = "llm.thread"

    @api.model
    def llm_ui_prompts(self, res_model, res_id):
        """The prompts offered in a conversation about the record ``res_model``/``res_id``
        (a draft's too), each with its text filled from the record: [{id, name, text}]; none
        when the user may not read the record, or it is gone: a conversation's link outlives
        both, and opening such a conversation must still work. A prompt whose text comes out
        empty from this record is left out. Without a record (``res_model`` False), the
        prompts that need none."""
        record = None
        if res_model:
            try:
                self._llm_ui_check_record(res_model, res_id)
            except UserError:  # AccessError included
                return []
            record = self.env[res_model].browse(res_id)
        prompts = [{"id": prompt.id, "name": prompt.name, "text": prompt._llm_render(record)}
                   for prompt in self.env["llm.prompt"]._llm_for(res_model)]
        return [prompt for prompt in prompts if prompt["text"].strip()]
