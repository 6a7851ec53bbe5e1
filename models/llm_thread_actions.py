"""Answer actions: regenerate, edit and resend, continue, versions, feedback.

The conversation is a tree of messages (``mail.message.llm_parent_id``): a regenerated answer
is a second child of the question it answers, an edited question a second child of the message
before the original. Exactly one path through the tree is active: its messages have
``llm_superseded`` unset, and they alone are shown and sent to the model (``_llm_history``).
Each node remembers which of its children was last chosen (the others are ``llm_unselected``),
so switching back to an earlier version also brings back what followed it.
"""

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from ..engine import claim
from ..engine.protocol import BUSY_STATES
from .llm_thread import LlmBusyError, LlmRefusal, check_input


class LlmInvalidAction(LlmRefusal):
    """A regenerate / edit / continue request that does not fit the conversation (HTTP 400)."""


class LlmThreadActions(models.Model):
    _inherit = "llm.thread"

    def _get_message_create_valid_field_names(self):
        return super()._get_message_create_valid_field_names() | {"llm_parent_id"}

    # ------------------------------------------------------------------
    # The active path
    # ------------------------------------------------------------------

    def _llm_all_messages(self):
        """Every message of the conversation, every version included, oldest first (as
        superuser: callers have checked the thread is the user's, see ``_llm_history``)."""
        self.ensure_one()
        return self.env["mail.message"].sudo().search(
            [("model", "=", self._name), ("res_id", "=", self.id), ("llm_role", "!=", False)],
            order="id")

    def _llm_leaf(self):
        """The last message of the active path: the parent of the next message."""
        self.ensure_one()
        return self.env["mail.message"].sudo().search(
            [("model", "=", self._name), ("res_id", "=", self.id), ("llm_role", "!=", False),
             ("llm_superseded", "=", False)], order="id desc", limit=1)

    def _llm_rewind(self, branch):
        """Make ``branch`` (a message of the active path, or none: the start) the end of the
        active path. What followed it stays stored as an earlier version; returns its first
        message (none when nothing followed)."""
        later = self._llm_history().filtered(lambda m: m.id > branch.id)
        later[:1].llm_unselected = True
        later.llm_superseded = True
        return later[:1]

    def _llm_activate(self, message):
        """Make ``message`` (an earlier version) and what last followed it the active path."""
        messages = self._llm_all_messages()
        self._llm_rewind(message.llm_parent_id)
        children = {}
        for child in messages:
            children.setdefault(child.llm_parent_id.id, []).append(child)
        message.llm_unselected = False
        node = message
        while node:
            node.llm_superseded = False
            # The child chosen last; the newest when none was (messages older than versions).
            chosen = [child for child in children.get(node.id, ()) if not child.llm_unselected]
            node = chosen[-1] if chosen else None

    def _llm_versions(self):
        """``{message id: [ids of its versions, oldest first]}`` for the active messages that
        have other versions."""
        messages = self._llm_all_messages()
        siblings = {}
        for message in messages:
            siblings.setdefault(message.llm_parent_id.id, []).append(message.id)
        return {message.id: siblings[message.llm_parent_id.id] for message in messages
                if not message.llm_superseded and len(siblings[message.llm_parent_id.id]) > 1}

    # ------------------------------------------------------------------
    # Regenerate, edit, continue (checked before the claim, applied after it)
    # ------------------------------------------------------------------

    def _llm_active_message(self, message_id, role):
        message = self._llm_history().filtered(lambda m: m.id == message_id)
        if not message or message.llm_role != role:
            raise LlmInvalidAction(self.env._(
                "This message is not part of the conversation any more: reload it and try "
                "again."))
        return message

    def _llm_check_action(self, question, regenerate_id, edit_id, continue_id):
        """What a regenerate / edit / continue request does: ``(branch, continued)``.
        ``question``: whether the request sends a message (text or files). ``branch`` is
        ``None`` (nothing to rewind) or the message (possibly none: the start) the active path
        is cut after; ``continued`` the answer to append to, if any."""
        given = [value for value in (regenerate_id, edit_id, continue_id) if value]
        Message = self.env["mail.message"]
        if not given:
            return None, Message
        if given == [edit_id] and not question:
            raise LlmInvalidAction(self.env._(
                "An edited question needs text or a file: write it, or keep or attach a file."))
        if len(given) > 1 or question != bool(edit_id):
            raise LlmInvalidAction(self.env._(
                "Regenerate, edit and continue each go alone; only an edit sends a message."))
        if edit_id:
            return self._llm_active_message(edit_id, "user").llm_parent_id, Message
        if regenerate_id:
            answer = self._llm_active_message(regenerate_id, "assistant")
            if answer.llm_parent_id.llm_role == "tool" and (answer.body_json or {}).get("error"):
                # A step after tool results that failed (the chat's Retry): answered again
                # from those results, so that the calls (a write the owner approved) are
                # neither made nor proposed again.
                return answer.llm_parent_id, Message
            question = self._llm_history().filtered(
                lambda m: m.llm_role == "user" and m.id < answer.id)[-1:]
            if not question:
                raise LlmInvalidAction(self.env._("This answer has no question to answer again."))
            return question, Message
        answer = self._llm_active_message(continue_id, "assistant")
        if answer != self._llm_leaf() or (answer.body_json or {}).get("finish_reason") != "length":
            raise LlmInvalidAction(self.env._(
                "Only the last answer, when the length limit cut it, can be continued."))
        return None, answer

    # ------------------------------------------------------------------
    # Chat UI
    # ------------------------------------------------------------------

    def llm_ui_load(self):
        data = super().llm_ui_load()
        versions = self._llm_versions()
        feedback = {line.message_id.id: {"rating": line.rating, "comment": line.comment or ""}
                    for line in self.env["llm.feedback"].search([
                        ("thread_id", "=", self.id), ("user_id", "=", self.env.uid)])}
        for message in data["messages"]:
            message["versions"] = versions.get(message["id"], [])
            message["feedback"] = feedback.get(message["id"])
        return data

    def _llm_ui_summary(self):
        summary = super()._llm_ui_summary()
        record = self._llm_record()
        summary["record_can_post"] = bool(record) and self._llm_can_post_on(record)
        return summary

    @api.model
    def _llm_can_post_on(self, record):
        """Whether the user may post on ``record`` as mail's composer will check it."""
        if not hasattr(record, "message_post"):
            return False
        try:
            record.check_access(getattr(record, "_mail_post_access", "write"))
        except AccessError:
            return False
        return True

    def llm_ui_switch_version(self, message_id):
        """Show (and send to the model from now on) another version of a message."""
        self._llm_check_owner()
        check_input(self.env, {"message_id": message_id}, {"message_id": ("id",)})
        self._llm_check_idle()
        message = self._llm_all_messages().filtered(lambda m: m.id == message_id)
        if not message:
            raise LlmInvalidAction(self.env._("This version does not exist any more."))
        if message.llm_parent_id.llm_superseded:
            raise LlmInvalidAction(self.env._(
                "This version belongs to another branch of the conversation: switch to that "
                "branch first."))
        if message.llm_superseded:
            self._llm_activate(message)
        return self.llm_ui_load()

    def llm_ui_feedback(self, message_id, rating, comment=""):
        """Rate an answer (thumbs up or down, an optional comment); ``rating`` False clears it."""
        self._llm_check_owner()
        check_input(self.env, {"message_id": message_id, "rating": rating, "comment": comment},
                    {"message_id": ("id",), "rating": ("text", "false"), "comment": ("text",)})
        if rating not in ("up", "down", False, None):
            raise UserError(self.env._("A rating is up or down."))
        message = self._llm_all_messages().filtered(
            lambda m: m.id == message_id and m.llm_role == "assistant")
        if not message:
            raise LlmInvalidAction(self.env._("Only the answers of this conversation can be "
                                              "rated."))
        return self.env["llm.feedback"]._llm_rate(self, message, rating, comment)

    def _llm_check_idle(self):
        """Versions change only between answers: a running generation owns the path."""
        self.invalidate_recordset(["generation_state"])
        if not claim.try_lock(self.env.cr, self.id) or self.generation_state in BUSY_STATES:
            raise LlmBusyError(self._llm_busy_message())
