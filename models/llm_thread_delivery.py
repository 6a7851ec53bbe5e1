"""Where the answer of a conversation started by a "Run Assistant" action goes
(ir_actions_server.py): the conversation remembers it (``llm_delivery``) until an answer is
delivered, as the conversation's owner, at the end of a run: a run that ends in an error, or
whose answer is refused, leaves it pending for the next one (a Retry).

A run that stops for an approval delivers nothing: the answer goes out when the run the
owner's decision resumes ends. A refusal (the answer is not a valid value for the field,
the owner may not write it, the record is gone) shows in the conversation as an error on the
answer, and, for a note, as a short note on the record saying why the AI did not answer:
one such note per answer still to deliver, which a Retry failing again replaces (or leaves as it
is, for the same reason) and a delivered answer removes.
"""

import logging
import re

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext

from ..engine import protocol
from ..engine.turn import message_text
from .ir_actions_server import DELIVERING
from .llm_thread import BUSY_STATES
from .llm_thread_seed import markdown_html

_logger = logging.getLogger(__name__)

# The error code stored on an answer that could not be delivered (mail_message.py).
DELIVERY_FAILED = "delivery_failed"
# What a model writes around a lone value: spaces, quotes, backticks, bold (and a final
# period, see _llm_parse_answer).
_WRAPPING = " \t\r\n\"'`*"
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
MAX_INTEGER = 2**31 - 1  # PostgreSQL's integer
# A refused answer is quoted in the error up to this length.
QUOTE_CHARS = 200


class LlmThreadDelivery(models.Model):
    _inherit = "llm.thread"

    llm_action_id = fields.Many2one("ir.actions.server", "Started By Action", readonly=True,
                                    ondelete="set null", copy=False)
    llm_delivery = fields.Selection(
        [("note", "Note on the record"), ("field", "Field of the record")],
        string="Answer Goes To", readonly=True, copy=False,
        help="Set while the answer of the action that started the conversation is still to "
             "be delivered: after a failure, the next answer (a Retry) is delivered.")
    llm_delivery_field = fields.Char("Answer Field", readonly=True, copy=False)
    llm_failure_note_id = fields.Many2one(
        "mail.message", "Failure Note", readonly=True, copy=False, ondelete="set null",
        help="The note on the record saying why the answer was not delivered, while it is not.")

    def _llm_server_owned_fields(self):
        # Set by the action that starts the conversation: a user setting them would have
        # their next answer posted, in the server's name, on a record of their choice.
        return super()._llm_server_owned_fields() | {
            "llm_action_id", "llm_delivery", "llm_delivery_field", "llm_failure_note_id"}

    def _llm_run_finished(self):
        super()._llm_run_finished()
        for thread in self.filtered(lambda t: t.llm_delivery
                                    and t.generation_state in ("idle", "error")):
            thread._llm_deliver()
            # Told again, now that it is delivered: the end was told at the release, before
            # the note existed, and a chatter showing the record fetches its new messages
            # at each such notice (static/src/ts/chatter/chatter_patch.ts).
            thread._llm_notify_state()

    def _llm_delivery_instructions(self, record):
        """What the model is told about where its answer goes (the system prompt)."""
        self.ensure_one()
        if self.llm_delivery == "note":
            return self.env._("Your answer is posted as it is as a note on this record: write "
                              "only the note, for the record's followers.")
        field = record._fields.get(self.llm_delivery_field or "")
        if self.llm_delivery != "field" or not field:
            return False
        text = self.env._("Your answer is written as it is into the field \"%s\" of this "
                          "record: reply with its value only.", field._description_string(self.env))
        if field.type == "selection":
            labels = [label for _key, label in field._description_selection(self.env)]
            text += " " + self.env._("It must be one of: %s.", ", ".join(labels))
        elif field.type == "integer":
            text += " " + self.env._("It must be a whole number, in digits.")
        elif field.type in ("float", "monetary"):
            text += " " + self.env._("It must be a number, in digits with a dot for decimals, "
                                     "without currency or thousands separators.")
        return text

    def _llm_start_failed(self, prompt, reason):
        """The run could not start (``reason``): the question and the refusal are kept in the
        conversation, as the engine keeps an answer that failed before its first token."""
        self.ensure_one()
        self._llm_create_message("user", prompt, author=self.env.user.partner_id)
        self._llm_create_message("assistant", data={"error": {
            "code": protocol.ERROR_NOT_CONFIGURED, "message": reason}})
        self.sudo().write({"generation_state": "error", "generation_error": reason})
        self._llm_deliver()

    def _llm_deliver(self):
        """Deliver the run's outcome: the last answer, or why there is none. Until an answer
        is delivered, the delivery stays pending: the next run of the conversation (a Retry
        of the failed answer, a later question) delivers again when it ends."""
        self.ensure_one()
        target, field_name = self.llm_delivery, self.llm_delivery_field
        record = self._llm_record()
        answer = self._llm_history().filtered(lambda m: m.llm_role == "assistant")[-1:]
        text = message_text(answer).strip() if answer else ""
        code = None
        if self.generation_state == "error":  # already shown on the answer
            reason = self.generation_error or self.env._("The answer failed.")
            code = ((answer.body_json or {}).get("error") or {}).get("code")
        else:
            if (answer.body_json or {}).get("stopped"):
                reason = self.env._("The answer was stopped before it was complete.")
            elif not text:
                reason = self.env._("The assistant gave no answer.")
            elif not record:
                reason = self.env._("The record this conversation is about no longer exists.")
            else:
                try:
                    with self.env.cr.savepoint():
                        if target == "note":
                            self._llm_post_note(record, markdown_html(text))
                        else:
                            self._llm_write_answer(record, field_name, text)
                    self.sudo().llm_delivery = False
                    # The note saying why the AI did not answer is no longer true: removed,
                    # not kept marked as resolved, so that the record's chatter shows the
                    # answer alone; the failed attempts stay in the conversation.
                    self._llm_remove_failure_note()
                    return
                except UserError as exc:  # AccessError and ValidationError included
                    reason = exc.args[0]
                    code = DELIVERY_FAILED
            self._llm_mark_failed(answer, reason)
        _logger.info("llm.thread %s: the answer was not delivered to %s: %s",
                     self.id, record or self.res_model, reason)
        if target == "note" and record:
            if code == DELIVERY_FAILED:
                note = self.env._("The AI's answer could not be posted here: %(reason)s The "
                                  "answer is in the conversation, in the AI panel.",
                                  reason=self._llm_failure_reason(code, reason))
            else:
                note = self.env._("The AI did not answer: %(reason)s The details are in the "
                                  "conversation, in the AI panel.",
                                  reason=self._llm_failure_reason(code, reason))
            self._llm_post_failure_note(record, note)

    def _llm_post_failure_note(self, record, text):
        """Say on ``record`` why the answer is not there, once per answer still to deliver: a
        Retry failing for the same reason posts nothing new, for another reason its note
        replaces the previous one (so the record shows the latest reason, not a pile)."""
        previous = self.sudo().llm_failure_note_id
        if previous and html2plaintext(previous.body) == html2plaintext(
                self._llm_note_body(text)):
            return
        # Posted in sudo, with the owner as author: an owner who may not post on the record
        # themselves (no email address, no write access) must still see there that the answer
        # failed. The text is the addon's own, never the model's.
        try:
            with self.env.cr.savepoint():
                note = self.sudo()._llm_post_note(record.sudo(), text,
                                                  author=self.env.user.partner_id)
        except UserError as exc:
            _logger.info("llm.thread %s: the note saying why was not posted on %s either: %s",
                         self.id, record, exc.args[0])
            return
        self._llm_remove_failure_note()
        self.sudo().llm_failure_note_id = note

    def _llm_remove_failure_note(self):
        """Remove the failure note as the chatter's own Delete does (mail's
        ``/mail/message/update_content`` with an empty body): an emptied message shows in
        no chatter, and the owner's open ones are told at once."""
        note = self.sudo().llm_failure_note_id
        if not note:
            return
        self.sudo().llm_failure_note_id = False
        record = self.env[note.model].sudo().browse(note.res_id).exists()
        if record:
            record._message_update_content(note, "", strict=False)

    def _llm_failure_reason(self, code, reason):
        """Why the AI did not answer, for everyone following the record: a provider's error
        (``code``, its kind) names URLs, hosts and settings meant for whoever may fix them,
        which stay in the conversation; the other refusals are the user's own terms."""
        reasons = {
            "connection": self.env._("The AI service could not be reached."),
            "timeout": self.env._("The AI service took too long to answer."),
            "auth": self.env._("The AI service refused access."),
            "not_found": self.env._("The AI service does not offer what it was asked for."),
            "bad_request": self.env._("The AI service refused the request."),
            "rate_limit": self.env._("The AI service is limiting requests; try again later."),
            "server": self.env._("The AI service had an error; try again later."),
            "protocol": self.env._("The AI service sent an answer that could not be read."),
            "cancelled": self.env._("The request to the AI service was cancelled."),
        }
        if code in reasons:
            return reasons[code]
        reason = reason.strip()
        return reason if reason.endswith((".", "!", "?", "…")) else reason + "."

    def _llm_post_note(self, record, body, author=None):
        """Post ``body`` (text, or HTML as Markup) as a note on ``record``, as the owner
        (``author``: as this partner, in the record's environment); returns the message."""
        if not hasattr(record, "message_post"):
            raise UserError(self.env._("%s records have no chatter to post the answer on.",
                                       self.env["ir.model"]._get(record._name).name))
        return record.message_post(body=self._llm_note_body(body), message_type="comment",
                                   subtype_xmlid="mail.mt_note",
                                   **({"author_id": author.id} if author else {}))

    def _llm_note_body(self, body):
        """A note of the assistant: ``body`` (text, or HTML as Markup) under its name."""
        label = Markup("<p><em>%s</em></p>") % self.env._(
            "%s (AI):", self.assistant_id.name or self.env._("Assistant"))
        return label + body

    def _llm_write_answer(self, record, field_name, text):
        field = record._fields.get(field_name or "")
        if field is None:
            raise UserError(self.env._("The field to write the answer into no longer exists: "
                                       "choose another one in the action."))
        value = self._llm_parse_answer(record, field, text)
        try:
            record.with_context(**{DELIVERING: True}).write({field.name: value})
            record.flush_recordset([field.name])
        except UserError as exc:  # AccessError and ValidationError included
            raise UserError(self.env._(
                "The answer could not be written into the field %(field)s: %(reason)s",
                field=field._description_string(self.env), reason=exc.args[0])) from exc

    def _llm_parse_answer(self, record, field, text):
        """The value of ``field`` the answer ``text`` stands for, or a UserError saying what
        was expected."""
        if field.type == "text":
            return text
        if field.type == "html":
            return markdown_html(text)
        bare = text.strip(_WRAPPING)
        if field.type == "char":
            # A one-line value: what wraps it goes, and a period after the wrapping ("**X**.");
            # a period of its own stays ("Acme Inc.").
            wrapped = text.strip(" \t\r\n")
            if wrapped.endswith(".") and wrapped[:-1].rstrip()[-1:] in ("\"", "'", "`", "*"):
                bare = wrapped[:-1].strip(_WRAPPING)
            return bare
        bare = bare[:-1].strip(_WRAPPING) if bare.endswith(".") else bare
        name = field._description_string(self.env)
        quoted = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"
        if field.type == "selection":
            options = field._description_selection(self.env)
            for key, label in options:
                if bare.casefold() in (str(key).casefold(), str(label).casefold()):
                    return key
            raise UserError(self.env._(
                "The answer \"%(answer)s\" is not a value of the field %(field)s, which takes "
                "one of: %(values)s.", answer=quoted, field=name,
                values=", ".join(label for _key, label in options)))
        if field.type == "integer":
            if _INTEGER.fullmatch(bare) and abs(int(bare)) <= MAX_INTEGER:
                return int(bare)
            raise UserError(self.env._(
                "The answer \"%(answer)s\" is not a whole number, which the field %(field)s "
                "takes.", answer=quoted, field=name))
        if _NUMBER.fullmatch(bare):
            return float(bare)
        raise UserError(self.env._(
            "The answer \"%(answer)s\" is not a number (digits, a dot for decimals), which "
            "the field %(field)s takes.", answer=quoted, field=name))

    def _llm_mark_failed(self, answer, reason):
        """Show a delivery's refusal in the conversation: on the answer, as the chat shows an
        answer's error, and as the conversation's last error."""
        if answer:
            answer.body_json = dict(answer.body_json or {}, error={
                "code": DELIVERY_FAILED, "message": reason})
        if self.generation_state not in BUSY_STATES:
            self.sudo().write({"generation_state": "error", "generation_error": reason})
            self._llm_notify_state()
