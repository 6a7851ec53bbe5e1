"""The "Run Assistant" server action: for each record, a conversation with an assistant,
started with a prompt filled from the record, whose answer goes to a note on the record, a
field of the record, or stays in the conversation (llm_thread_delivery.py delivers it).

A server action, so it runs from automation rules (``base_automation``, not a dependency: it
only calls ``run()``) and from the Action menu of a list or form once bound to its model
(*Create Contextual Action*). Nothing runs as superuser: the conversation is the acting
user's (the action's *Run As* user when that is OdooBot), and its answer goes through the
same checks, tools, approvals and budgets as in the chat; the run goes on without any browser
(``_llm_start``).
"""

import logging
import weakref

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import clean_context

from . import llm_placeholders
from .llm_thread import MAX_NAME_CHARS

_logger = logging.getLogger(__name__)

# The field types an answer can be written into (llm_thread_delivery.py parses each).
TARGET_FIELD_TYPES = ("char", "text", "html", "selection", "integer", "float", "monetary")
# In the context of a write that delivers an answer: such a write starts no other "Run
# Assistant" action, so a rule triggered by the field it fills cannot loop on itself.
DELIVERING = "llm_delivering"
# Context keys a run keeps from the action's context; the rest (active ids, the automation's
# bookkeeping, with records of the action's transaction) belongs to the action.
RUN_CONTEXT_KEYS = ("lang", "tz", "allowed_company_ids")
# Cursor -> (action id, model, record id) started with it (``_llm_run_on``).
_STARTED = weakref.WeakKeyDictionary()


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    state = fields.Selection(selection_add=[("llm_assistant", "Run Assistant")],
                             ondelete={"llm_assistant": "cascade"})
    llm_assistant_id = fields.Many2one(
        "llm.assistant", string="Assistant", ondelete="restrict",
        help="Answers in the conversation created for each record, as the user running the "
             "action (the assistant must be available to them on this model).")
    llm_prompt_id = fields.Many2one(
        "llm.prompt", string="Prompt", ondelete="restrict", domain=[("user_id", "=", False)],
        help="The question asked about each record; its placeholders are filled from the "
             "record with the rights of the user running the action.")
    llm_run_as_id = fields.Many2one(
        "res.users", string="Run As", ondelete="set null", domain=[("share", "=", False)],
        help="Whose rights, tools, approvals and budgets the answers get when the action runs "
             "as OdooBot, the superuser: from a scheduled action, an automation rule on a "
             "date or a timer, or a record created from an incoming email. Anyone else "
             "running it runs it as themselves. Empty, it does not run as OdooBot.")
    llm_target = fields.Selection(
        [("note", "Note on the record"), ("field", "Field of the record"),
         ("thread", "Only the conversation")],
        string="Answer Goes To", compute="_compute_llm_target", store=True, readonly=False,
        precompute=True,
        help="Where the answer goes once it is complete (after any approval of a tool call): "
             "a note in the record's chatter, a field of the record (the answer must then be a "
             "valid value for it), or nowhere but the conversation, linked to the record.")
    llm_target_field_id = fields.Many2one(
        "ir.model.fields", string="Answer Field", ondelete="set null",
        compute="_compute_llm_target_field_id", store=True, readonly=False, precompute=True,
        domain=f"[('model_id', '=', model_id), ('ttype', 'in', {list(TARGET_FIELD_TYPES)})]",
        help="Text, HTML (markdown becomes HTML), char, selection (the answer must be one of "
             "its values or labels), integer, float or monetary (the answer must be a number).")

    # The name the action gets when its user gives none, shown in the form as the name's hint.
    llm_default_name = fields.Char(compute="_compute_llm_default_name")

    @api.depends("state", "llm_assistant_id", "llm_prompt_id")
    def _compute_llm_default_name(self):
        for action in self:
            action.llm_default_name = action.state == "llm_assistant" \
                and action._llm_default_name()

    @api.model_create_multi
    def create(self, vals_list):
        # An unnamed action (a rule's, which base_automation names "Run Assistant", or one
        # saved with an empty name) is named once its assistant and prompt are known.
        generic = self._llm_type_label()
        for vals in vals_list:
            if vals.get("state") == "llm_assistant" and not vals.get("name"):
                vals["name"] = generic
            # Who sets the action up answers for it when OdooBot runs it.
            if vals.get("state") == "llm_assistant" and "llm_run_as_id" not in vals \
                    and self.env.uid != SUPERUSER_ID:
                vals["llm_run_as_id"] = self.env.uid
        actions = super().create(vals_list)
        actions.filtered(lambda a: a.state == "llm_assistant" and a.name == generic) \
            ._llm_name_by_default()
        return actions

    def write(self, vals):
        if not {"name", "state", "llm_assistant_id", "llm_prompt_id"} & vals.keys():
            return super().write(vals)
        # A default name follows its assistant and prompt, unless this write renames it.
        following = self.browse() if "name" in vals else self.filtered(
            lambda a: a.state == "llm_assistant" and a._llm_has_default_name())
        result = super().write(vals)
        generic = self._llm_type_label()
        (following | self.filtered(lambda a: a.name in (False, "", generic))).filtered(
            lambda a: a.state == "llm_assistant")._llm_name_by_default()
        return result

    def _compute_name(self):
        # base_automation's (not a dependency: without it the name is computed by no one). It
        # names a rule's actions after what they do, whatever name they were given (its
        # dialog hides the name), whenever a field it depends on is computed, at their
        # creation too: "Run Assistant" alone for this type, even for an action create() had
        # named. Ours says which assistant asks what, however the action was created.
        super()._compute_name()
        for action in self.filtered(lambda a: a.state == "llm_assistant" and a.base_automation_id):
            action.name = action._llm_default_name()

    def _llm_type_label(self):
        """"Run Assistant", as the type is shown (and base_automation names a rule's action of
        a type it has no name for)."""
        return dict(self._fields["state"]._description_selection(self.env))["llm_assistant"]

    def _llm_default_name(self):
        """The name of an action the user did not name, as base_automation names Odoo's own
        types after what they do ("Send email: <template>"): several actions of a rule, or
        the server actions list, then tell apart which assistant asks what."""
        self.ensure_one()
        assistant, prompt = self.llm_assistant_id.sudo(), self.llm_prompt_id.sudo()
        if not assistant or not prompt:
            return self._llm_type_label()
        return self.env._("Run Assistant: %(assistant)s — %(prompt)s",
                          assistant=assistant.name, prompt=prompt.name)

    def _llm_has_default_name(self):
        self.ensure_one()
        return self.name in (False, "", self._llm_type_label(), self._llm_default_name())

    def _llm_name_by_default(self):
        for action in self:
            name = action._llm_default_name()
            if action.name != name:
                action.name = name

    @api.depends("state", "model_id")
    def _compute_llm_target(self):
        for action in self:
            if action.state != "llm_assistant":
                action.llm_target = False
            elif not action.llm_target:
                action.llm_target = "note" if action.model_id.is_mail_thread else "thread"

    @api.depends("model_id", "llm_target")
    def _compute_llm_target_field_id(self):
        for action in self:
            if action.llm_target != "field" \
                    or action.llm_target_field_id.model_id != action.model_id:
                action.llm_target_field_id = False

    @api.constrains("state", "model_id", "llm_assistant_id", "llm_prompt_id", "llm_target",
                    "llm_target_field_id")
    def _check_llm_assistant(self):
        for action in self.filtered(lambda a: a.state == "llm_assistant"):
            if not action.llm_assistant_id or not action.llm_prompt_id or not action.llm_target:
                raise ValidationError(self.env._(
                    "The action \"%s\" runs an assistant: choose the assistant, the prompt and "
                    "where the answer goes.", action.name))
            if action.llm_target == "note" \
                    and (action.model_id.transient or not action.model_id.is_mail_thread):
                raise ValidationError(self.env._(
                    "%(model)s records have no chatter: the action \"%(action)s\" cannot put "
                    "the answer in a note. Choose a field, or only the conversation.",
                    model=action.model_id.name, action=action.name))
            field = action.llm_target_field_id
            if action.llm_target == "field" and (
                    field.model_id != action.model_id or field.ttype not in TARGET_FIELD_TYPES):
                raise ValidationError(self.env._(
                    "The action \"%s\" writes the answer into a field: choose a text, HTML, "
                    "char, selection or number field of its model.", action.name))

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------

    def _run_action_llm_assistant_multi(self, eval_context=None):
        # Not on a form's unsaved changes (an "on change" rule), not for a recompute, not
        # for the write delivering an answer.
        if self.env.context.get("onchange_self") or self.env.context.get(DELIVERING) \
                or self._is_recompute():
            return False
        records = (eval_context.get("records") or eval_context.get("record")
                   or self.env[self.model_id.model]).filtered("id")
        if not records:
            return False
        # run() reads the action as superuser; the conversations are the acting user's, with
        # their rights. The context keeps the automation's bookkeeping (which rules already
        # ran on which records), not the defaults meant for the records the action runs on.
        env = self.env(su=False, context=clean_context(self.env.context))
        if env.uid == SUPERUSER_ID:
            # OdooBot is always the superuser (Odoo ignores su=False for it): its tools would
            # read and write everything, prompted by a record's text, an incoming email's too.
            run_as = self.llm_run_as_id
            if not run_as.active or run_as.id == SUPERUSER_ID:
                self._llm_not_run_as_superuser(records)
                return False
            env = env(user=run_as.id)
        started = sum(self._llm_run_on(record) for record in records.with_env(env))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": env._(
                    "%(assistant)s was asked about one record: its answer, or why there is "
                    "none, is in the AI panel of the record.",
                    assistant=self.llm_assistant_id.name) if started == 1 else env._(
                    "%(assistant)s was asked about %(count)s records: each answer, or why "
                    "there is none, is in the AI panel of its record.",
                    assistant=self.llm_assistant_id.name, count=started),
            },
        }

    @api.constrains("state")
    def _check_llm_not_scheduled(self):
        """A scheduled action runs on no record, and Run Assistant asks about each record it
        is given: it would run and do nothing, every time, without a word."""
        scheduled = self.filtered(lambda action: action.state == "llm_assistant")
        if scheduled and self.env["ir.cron"].sudo().with_context(active_test=False).search_count(
                [("ir_actions_server_id", "in", scheduled.ids)], limit=1):
            raise ValidationError(self.env._(
                "A scheduled action has no records for Run Assistant to ask about. To ask the "
                "assistant about records on a schedule, use an automation rule on their model "
                "with a time trigger (Based on date field, After creation, After last update; "
                "Settings > Technical > Automation Rules) and a Run Assistant action."))

    def _llm_not_run_as_superuser(self, records):
        """Say on each record (a note, for whoever set the rule up) why the assistant did not
        answer it: the action ran as OdooBot and names no other user to run as."""
        reason = self.env._(
            "%(action)s did not run: it was started as OdooBot, the superuser (by a scheduled "
            "action, a rule on a date or an incoming email), and the AI never runs with the "
            "superuser's rights. Set Run As on the action, the user whose rights, tools and "
            "budgets it should have.", action=self.name)
        _logger.info("Run Assistant %r not run as the superuser on %s", self.name, records)
        for record in records.filtered(lambda r: hasattr(r, "message_post")):
            record.sudo().message_post(body=reason, message_type="comment",
                                       subtype_xmlid="mail.mt_note")

    def _llm_run_on(self, record):
        """Start the assistant on ``record`` (in the acting user's environment) in a
        conversation of its own; True when a conversation was created. A refusal (the
        assistant or its model not available to the user, a check of the chat) ends in that
        conversation, as an answer's error does."""
        # Once per action, record and cursor (a request, a job): base_automation may run an
        # "on save" rule twice on one creation (again from the recompute of a stored field,
        # in a context that does not say the rule already ran), and a record saved twice
        # needs one answer, not two paid ones.
        started = _STARTED.setdefault(record.env.cr, set())
        if (self.id, record._name, record.id) in started:
            return False
        started.add((self.id, record._name, record.id))
        Thread = record.env["llm.thread"]
        target = self.llm_target if self.llm_target != "thread" else False
        # An action the user did not name is named after its assistant and prompt: its
        # conversations are then named after the prompt alone.
        title = self.llm_prompt_id.sudo().name if self._llm_has_default_name() else self.name
        try:
            values = {
                "name": f"{title}: {record.display_name}"[:MAX_NAME_CHARS],
                "res_model": record._name,
                "res_id": record.id,
            }
            model = Thread._llm_ui_default_model()
            if model:
                values.update(provider_id=model.provider_id.id, model_id=model.id)
            thread = Thread.create(values)
            thread.sudo().write({  # the server's own fields (_llm_server_owned_fields)
                "llm_action_id": self.id,
                "llm_delivery": target,
                "llm_delivery_field": target == "field" and self.llm_target_field_id.name,
            })
        except AccessError as exc:
            # A user who may not have conversations (a portal user saving a record): the
            # record is saved all the same, without an answer.
            _logger.info("Run Assistant %r skipped for %s: %s", self.name, record, exc)
            return False
        thread.system_prompt = thread._llm_delivery_instructions(record)
        prompt = llm_placeholders.render(record.env, self.llm_prompt_id.text, record)
        assistant = self.llm_assistant_id.with_env(record.env)
        try:
            with record.env.cr.savepoint():  # a refused write leaves nothing behind
                assistant._llm_check_usable(record._name)
                thread._llm_apply_assistant(assistant)
            # Nothing of the action's context follows the run into its own transactions.
            thread.with_context({key: thread.env.context[key] for key in RUN_CONTEXT_KEYS
                                 if key in thread.env.context})._llm_start(
                prompt, take_turns=True)
        except UserError as exc:  # AccessError, ValidationError, LlmBusyError included
            thread._llm_start_failed(prompt, exc.args[0])
        return True

    def _llm_check_not_used(self, records, field_name):
        """Refuse deleting ``records`` (prompts or assistants) that actions of ``self`` use
        through ``field_name``, naming those actions: the link is ``ondelete="restrict"``,
        which would otherwise end in the database's raw constraint error."""
        actions = self.sudo().search([(field_name, "in", records.ids)])
        for record in records:
            users = actions.filtered(lambda a: a[field_name] == record)
            if not users:
                continue
            names = []
            for action in users:
                rule = "base_automation_id" in action._fields and action.base_automation_id
                names.append(self.env._('"%(action)s" (automation rule "%(rule)s")',
                                        action=action.name, rule=rule.name) if rule
                             else f'"{action.name}"')
            if len(names) == 1:
                message = self.env._(
                    "\"%(record)s\" is used by the action %(actions)s: change or delete the "
                    "action first.", record=record.display_name,
                    actions=names[0])
            else:
                message = self.env._(
                    "\"%(record)s\" is used by the actions %(actions)s: change or delete "
                    "these actions first.", record=record.display_name,
                    actions=", ".join(names))
            raise UserError(message)


class LlmPromptActions(models.Model):
    _inherit = "llm.prompt"

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used_by_action(self):
        self.env["ir.actions.server"]._llm_check_not_used(self, "llm_prompt_id")


class LlmAssistantActions(models.Model):
    _inherit = "llm.assistant"

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used_by_action(self):
        self.env["ir.actions.server"]._llm_check_not_used(self, "llm_assistant_id")


class IrCronRunAssistant(models.Model):
    _inherit = "ir.cron"

    @api.model_create_multi
    def create(self, vals_list):
        # Checked once the cron exists: its server action is created first (_inherits).
        crons = super().create(vals_list)
        crons.ir_actions_server_id._check_llm_not_scheduled()
        return crons
