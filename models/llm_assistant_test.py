"""The Test button of an assistant's form: an LLM manager editing an assistant talks to it at
once, in the LLM Chat app, on a conversation set up with it (its instructions, model or Auto,
settings, tools and knowledge sources), instead of setting one up by hand.

A test conversation is about no record, so that an assistant offered only on some models
(*Offered On*) answers there too: in its own test conversations the models it is offered on
do not apply, and nothing else is relaxed. It is named "Test: <assistant>" and does not pile
up: the manager's latest test conversation of that assistant is reused while nothing was sent
in it, and when a new one starts, their older ones of that assistant are archived but the one
before it (kept to compare answers before and after an edit).
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from . import llm_placeholders
from .llm_thread import MAX_NAME_CHARS

# The test conversations that a new test of the same assistant archives: not one answering or
# waiting for its owner's approval, which would vanish from the list with its question open.
ARCHIVABLE_STATES = ("idle", "error")


class LlmAssistantTest(models.Model):
    _inherit = "llm.assistant"

    names_record = fields.Boolean(
        "Names the Record", compute="_compute_names_record",
        help="Its instructions have placeholders of the conversation's record, which render "
             "empty (or their default) in a test conversation, about no record.")

    @api.depends("instructions")
    def _compute_names_record(self):
        for assistant in self:
            assistant.names_record = llm_placeholders.names_record(assistant.instructions)

    def action_llm_test(self):
        """The LLM Chat, on a test conversation with this assistant, ready to type in."""
        self.ensure_one()
        if not self.env.user.has_group("llm_thread.group_llm_manager"):
            raise AccessError(self.env._("Only LLM managers test assistants."))
        self._llm_check_testable()
        thread = self.env["llm.thread"]._llm_test_thread(self)
        action = self.env["ir.actions.actions"]._for_xml_id("llm_thread.action_llm_chat")
        # The chat opens the conversation of active_id (a link's too); the web client sets it
        # to the button's record (the assistant) unless the action's context says otherwise.
        action["context"] = {"active_id": thread.id, "active_ids": [thread.id],
                             "active_model": thread._name}
        return action

    def _llm_check_testable(self):
        """Raise a UserError saying what to change unless the current user, in the current
        company, can talk to the assistant: the rules of every answer (``_llm_is_allowed``,
        ``_llm_model_usable``), but Offered On (a test is about no record); a refusal is
        explained in the manager's words."""
        if not self._llm_is_allowed():
            raise UserError(self._llm_not_allowed_reason())
        if not self.env["llm.model"]._llm_chat_models():
            raise UserError(self.env["llm.provider"]._llm_not_configured_message())
        if not self._llm_model_usable():
            raise UserError(self.env._(
                "The assistant %(assistant)s answers with %(model)s, which is not available "
                "(archived, its provider archived, or another company's): choose another Model "
                "on the assistant, or Auto Model, to test it.", assistant=self.name,
                model=self.sudo().model_id.display_name))

    def _llm_not_allowed_reason(self):
        """Why ``_llm_is_allowed()`` refuses the assistant to the current user, and what to
        change (its rule is the tools' ``allowed``: active, companies, groups)."""
        if not self.active:
            return self.env._(
                "The assistant %s is archived: unarchive it (Action > Unarchive) to test it.",
                self.name)
        if self.company_ids and self.env.company not in self.company_ids:
            return self.env._(
                "The assistant %(assistant)s is used only in %(companies)s: switch to one of "
                "them in the company switcher to test it.", assistant=self.name,
                companies=", ".join(self.company_ids.mapped("name")))
        return self.env._(
            "The assistant %(assistant)s is offered to members of %(groups)s only, and you "
            "are in none of them. A test talks to it as you: add yourself to one of them, "
            "or empty its Allowed Groups, to test it.", assistant=self.name,
            groups=", ".join(self.group_ids.mapped("full_name")))


class LlmThreadTest(models.Model):
    _inherit = "llm.thread"

    llm_test_assistant_id = fields.Many2one(
        "llm.assistant", "Tests Assistant", readonly=True, copy=False, ondelete="set null",
        index="btree_not_null",
        help="A conversation the assistant's Test button opened: about no record, the models "
             "the assistant is offered on do not apply in it.")

    def _llm_server_owned_fields(self):
        # Set by the Test button only: a user setting it would use an assistant outside the
        # models it is offered on.
        return super()._llm_server_owned_fields() | {"llm_test_assistant_id"}

    def _llm_tests(self, assistant):
        """Whether this is a test conversation of ``assistant`` (llm.assistant), of an LLM
        manager (who may still be one): where it answers whatever its Offered On."""
        return bool(assistant) and self.llm_test_assistant_id == assistant \
            and self.env.user.has_group("llm_thread.group_llm_manager")

    @api.model
    def _llm_test_thread(self, assistant):
        """The current user's test conversation of ``assistant``, set up with it as it is now:
        their latest one while nothing was sent in it, else a new one, whose creation archives
        their older ones but the one before it."""
        tests = self.search([("user_id", "=", self.env.uid),
                             ("llm_test_assistant_id", "=", assistant.id)], order="id desc")
        # The model and tools a new conversation gets (llm_ui_create), then the assistant's: a
        # reused one follows the edits made to the assistant since.
        model = self._llm_ui_default_model()
        values = {
            "name": self.env._("Test: %s", assistant.name)[:MAX_NAME_CHARS],
            "provider_id": model.provider_id.id, "model_id": model.id, "auto_model": False,
            "tool_names": self.env["llm.tool"]._llm_default_names(),
        }
        thread = tests[:1]
        if thread and thread.generation_state == "idle" and not thread._llm_history():
            thread.write(values)
        else:
            thread = self.create(values)
            thread.sudo().llm_test_assistant_id = assistant  # server-owned
            tests[1:].filtered(lambda t: t.generation_state in ARCHIVABLE_STATES).active = False
        thread._llm_apply_assistant(assistant)
        return thread

    def _llm_ui_summary(self):
        # The chat's assistant picker offers the tested assistant there, about no record.
        return dict(super()._llm_ui_summary(),
                    test_assistant_id=self.llm_test_assistant_id.id or False)
