"""Files and images sent with a message.

An attachment is an ``ir.attachment`` of the thread (``res_model`` llm.thread, ``res_id``): the
owner uploads it (``_llm_attach``, behind the thread's ownership gate), then sends it with a
message, whose ``attachment_ids`` it joins (``_llm_message_attachments`` checks the ids the
generate route receives). Reading it afterwards is mail's rule for a document's attachments:
whoever may read the thread. An upload no message took (removed from the composer, or the tab
closed) is removed a day later (``_gc_llm_unsent_uploads``), as mail's composer's uploads are.

Images go to the model as image parts, other files as their text (Odoo's own extraction,
``ir.attachment.index_content``, extended by attachment_indexation), a PDF natively where the
format reads PDFs (providers/anthropic.py). A model without vision is refused before any call.
"""

import base64

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL
from odoo.tools.mimetypes import guess_mimetype

from ..providers.base import Attachment
from .llm_thread import MAX_MESSAGE_CHARS, LlmRefusal

# The limits and types below are also checked in the browser before uploading
# (static/src/ts/composer/attachments.ts; its test compares them with these).
MAX_ATTACHMENTS = 10
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Anthropic's limit per image; OpenAI takes 20 MB
MAX_FILE_BYTES = 10 * 1024 * 1024
# Images every format with vision reads, by extension; recognised by their content.
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
               "gif": "image/gif", "webp": "image/webp"}
# Files sent as text, by extension: decoded as UTF-8 ...
TEXT_TYPES = {"txt": "text/plain", "md": "text/markdown", "csv": "text/csv",
              "json": "application/json"}
# ... or read by Odoo's text extraction.
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
# An upload no message took is removed after this long (mail's composer: a day, its
# _gc_lost_attachments): long enough for a question being written, and a removed upload
# asked for later is refused in words (_llm_message_attachments).
UNSENT_UPLOAD_DAYS = 1


class LlmAttachmentError(LlmRefusal):
    """An attachment refused: wrong type, too large, unreadable, not the user's to send, or
    an image for a model without vision (HTTP 400; nothing was sent to the provider)."""


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    # Tells the chat's uploads from the other files of a conversation (its form's chatter
    # takes some too), which stay as long as the conversation: only those are collected, and
    # only those can be sent, as they passed the upload's checks. Set by the upload alone.
    llm_chat_upload = fields.Boolean("LLM Chat Upload", copy=False)

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("llm_chat_upload") for vals in vals_list):
            self._llm_check_upload_mark()
        return super().create(vals_list)

    def write(self, vals):
        if "llm_chat_upload" in vals:
            self._llm_check_upload_mark()
        return super().write(vals)

    def _llm_check_upload_mark(self):
        if not self.env.su:
            raise AccessError(self.env._(
                "Only the chat's upload marks a file as an upload to send: upload it in the chat."))


class LlmThreadAttachments(models.Model):
    _inherit = "llm.thread"

    # ------------------------------------------------------------------
    # Upload
    # ------------------------------------------------------------------

    def _llm_attach(self, name, raw):
        """Store a file the owner uploads for their next message; returns what the chat shows
        of it. Raises ``LlmAttachmentError`` (type, size, no readable text) with a sentence
        saying what is accepted."""
        self.ensure_one()
        self._llm_check_owner()
        mimetype = self._llm_attachment_type(name, raw)
        image = mimetype.startswith("image/")
        limit = MAX_IMAGE_BYTES if image else MAX_FILE_BYTES
        if len(raw) > limit:
            raise LlmAttachmentError(self.env._(
                "%(file)s is too large (%(size)s MB; the limit for %(kind)s is %(limit)s MB).",
                file=name, size=round(len(raw) / 2**20, 1), limit=limit // 2**20,
                kind=self.env._("an image") if image else self.env._("a file")))
        # A file whose text cannot be read is refused with its record undone.
        with self.env.cr.savepoint():
            attachment = self.env["ir.attachment"].create({
                "name": name, "raw": raw, "mimetype": mimetype,
                "res_model": self._name, "res_id": self.id})
            attachment.sudo().llm_chat_upload = True
            if not image:
                text = _attachment_text(attachment)
                if not text.strip() and mimetype in TEXT_TYPES.values():
                    raise LlmAttachmentError(self.env._(
                        "%(file)s is empty: there is nothing in it to send.", file=name))
                if not text.strip() and mimetype == DOCUMENT_TYPES["pdf"]:
                    raise LlmAttachmentError(self.env._(
                        "No text could be read from %(file)s, a scan or a PDF of images: "
                        "attach a PDF with text, or the document as text.", file=name))
                if not text.strip():
                    raise LlmAttachmentError(self.env._(
                        "No text could be read from %(file)s: it is empty, or holds only "
                        "images; attach the document as text.", file=name))
                if len(text) > MAX_MESSAGE_CHARS:
                    length, limit = self._llm_sizes(text)
                    raise LlmAttachmentError(self.env._(
                        "The text of %(file)s is too long (%(length)s characters; the limit "
                        "is %(limit)s). Attach the part that matters.",
                        file=name, length=length, limit=limit))
        return _ui_attachment(attachment)

    def _llm_attachment_type(self, name, raw):
        """The MIME type an upload is stored and sent with: an image by its content (what
        the providers check), any other file by its extension."""
        sniffed = guess_mimetype(raw, default="")
        if sniffed in IMAGE_TYPES.values():
            return sniffed
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension in IMAGE_TYPES:
            raise LlmAttachmentError(self.env._(
                "%s is not a valid image: its content is not the PNG, JPEG, GIF or WebP its "
                "name says.", name))
        mimetype = TEXT_TYPES.get(extension) or DOCUMENT_TYPES.get(extension)
        if not mimetype:
            raise LlmAttachmentError(self.env._(
                "%s cannot be sent to the model: attach an image (PNG, JPEG, GIF, WebP), a "
                "PDF, a text, Markdown, CSV or JSON file, or an office document (DOCX, XLSX, "
                "PPTX, ODT, ODS, ODP).", name))
        return mimetype

    @api.autovacuum
    def _gc_llm_unsent_uploads(self):
        """Remove the chat's uploads that no message took since ``UNSENT_UPLOAD_DAYS`` (the
        user removed them from the composer, or left): nobody can see or send them any more.
        One that a message or any other record refers to is kept, whatever its age."""
        limit = fields.Datetime.subtract(fields.Datetime.now(), days=UNSENT_UPLOAD_DAYS)
        uploads = self.env["ir.attachment"].sudo().search([
            ("res_model", "=", self._name), ("llm_chat_upload", "=", True),
            ("create_date", "<", limit), ("write_date", "<", limit)])
        (uploads - _referenced(uploads)).unlink()

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    def _llm_message_attachments(self, attachment_ids, edit_message_id=None):
        """The attachments a new message carries: ``attachment_ids``, each the current user's
        upload to this thread, not sent yet, or (an edit) one of the files of the question
        ``edit_message_id`` replaces: an edit carries the files its box kept and added, none
        when it gives none."""
        self.ensure_one()
        Attachment_ = self.env["ir.attachment"]
        if not attachment_ids:
            return Attachment_
        if len(attachment_ids) > MAX_ATTACHMENTS:
            raise LlmAttachmentError(self.env._(
                "A message takes at most %(limit)s attachments (%(count)s given).",
                limit=MAX_ATTACHMENTS, count=len(attachment_ids)))
        attachments = Attachment_.sudo().browse(attachment_ids).exists()
        # Read as superuser, as the history is (the thread is the user's).
        kept = self._llm_history().filtered(
            lambda m: m.id == edit_message_id).attachment_ids if edit_message_id else Attachment_
        new = attachments - kept
        sent = self.env["mail.message"].sudo().search_count(
            [("attachment_ids", "in", new.ids)], limit=1) if new else 0
        if sent or len(attachments) != len(set(attachment_ids)) or any(
                a.res_model != self._name or a.res_id != self.id or a.create_uid != self.env.user
                or not a.llm_chat_upload
                for a in new):
            raise LlmAttachmentError(self.env._(
                "These attachments cannot be sent with this message (already sent, removed, or "
                "not uploaded by you to this conversation): attach the files again."))
        return attachments.with_env(self.env)

    def _llm_has_images(self, history=None):
        """Whether the model must read images: the active history (``_llm_history()``, read
        unless given) has some, or the message being sent (``llm_attachment_ids`` in the
        context, see ``_llm_generate``)."""
        return self._llm_images_sent() or _has_image(
            (self._llm_history() if history is None else history).attachment_ids)

    def _llm_images_sent(self):
        return _has_image(self.env["ir.attachment"].sudo().browse(
            self.env.context.get("llm_attachment_ids") or ()))

    def _llm_check_vision(self, model, history=None):
        """Refuse, before any provider call, to send images to a model without vision."""
        if model.supports_vision or not self._llm_has_images(history):
            return
        if self._llm_images_sent():
            raise LlmAttachmentError(self.env._(
                "%s cannot read images: pick a model with vision (or Auto), or send the message "
                "without its images.", model.name))
        raise LlmAttachmentError(self.env._(
            "%s cannot read images, and this conversation has some: pick a model with vision "
            "(or Auto) to go on with it.", model.name))

    def _llm_chat_attachments(self, message):
        """A stored question's attachments as the provider layer takes them (only questions
        carry any: the formats take images in user turns alone)."""
        if message.llm_role != "user":
            return ()
        result = []
        for attachment in message.attachment_ids.sudo().sorted("id"):
            image = _has_image(attachment)
            native = image or attachment.mimetype == "application/pdf"
            result.append(Attachment(
                name=attachment.name, mimetype=attachment.mimetype,
                data=base64.b64encode(attachment.raw or b"").decode() if native else "",
                text="" if image else _attachment_text(attachment)))
        return tuple(result)

    # ------------------------------------------------------------------
    # Chat UI
    # ------------------------------------------------------------------

    def llm_ui_load(self):
        data = super().llm_ui_load()
        messages = self.env["mail.message"].sudo().browse([m["id"] for m in data["messages"]])
        attachments = {message.id: [_ui_attachment(a) for a in message.attachment_ids.sorted("id")]
                       for message in messages if message.attachment_ids}
        for message in data["messages"]:
            message["attachments"] = attachments.get(message["id"], [])
        return data


def _referenced(attachments):
    """The ``attachments`` a record refers to: a message (its attachments), or any record
    of any model through a stored many2many or many2one field to ``ir.attachment``."""
    if not attachments:
        return attachments
    env = attachments.env
    env.flush_all()  # the queries below read the tables
    columns = set()  # (table, column holding an attachment id)
    for model in env.registry.values():
        if model._abstract or not model._auto:
            continue
        for field in model._fields.values():
            if field.store and field.comodel_name == "ir.attachment":
                if field.type == "many2many":
                    columns.add((field.relation, field.column2))
                elif field.type == "many2one":
                    columns.add((model._table, field.name))
    found = set()
    for table, column in sorted(columns):
        found.update(id_ for [id_] in env.execute_query(SQL(
            "SELECT %s FROM %s WHERE %s IN %s", SQL.identifier(column), SQL.identifier(table),
            SQL.identifier(column), tuple(attachments.ids))))
    return attachments.browse(found)


def _has_image(attachments):
    return any(attachment.mimetype in IMAGE_TYPES.values() for attachment in attachments)


def _attachment_text(attachment):
    """A file's text: text files decoded as UTF-8 (Odoo's own indexing keeps only their
    ASCII words), the others as Odoo's extraction read them at upload."""
    if attachment.mimetype in TEXT_TYPES.values():
        return (attachment.raw or b"").decode("utf-8", "replace")
    text = attachment.sudo().index_content or ""
    # Without an extractor for the type, Odoo's index is the type's first half ("application").
    return "" if text == attachment.mimetype.split("/")[0] else text


def _ui_attachment(attachment):
    return {"id": attachment.id, "name": attachment.name, "mimetype": attachment.mimetype}
