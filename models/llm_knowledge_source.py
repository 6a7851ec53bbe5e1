"""Knowledge sources: the company's files and records, indexed in the background into chunks
(``llm.knowledge.chunk``) that conversations retrieve (see llm_knowledge_search.py).

Indexing runs in the ``LLM: index knowledge sources`` cron, triggered when a source is queued:
a source's text is read and cut into chunks (unchanged chunks, recognised by their checksum,
keep their vector), then the chunks without a vector are embedded in batches, each batch
committed, so a crash or a restart resumes where it stopped and one source's failure never
blocks the others.

A user may save a source while the cron indexes it. Each step reads the source as it is then,
works (reads the text, calls the embedding provider) without holding its row, and locks the row
only to write its results (``_llm_lock``): a user's save never waits for a provider, and when a
user saved the source since the step began, or is saving it, the step is dropped, quietly,
and redone at the next run, from the source as the user left it.
"""

import codecs
import hashlib
import logging
import threading

from psycopg2 import errors

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import html2plaintext
from odoo.tools.safe_eval import safe_eval

from ..providers import ProviderError
from . import llm_knowledge_chunking as chunking
from .llm_domains import unsearchable_field

_logger = logging.getLogger(__name__)

# Full-text search configurations PostgreSQL ships (regconfig names); "simple" only lowercases.
LANGUAGES = [
    ("simple", "Any language (no stemming)"), ("english", "English"), ("french", "French"),
    ("german", "German"), ("spanish", "Spanish"), ("italian", "Italian"), ("dutch", "Dutch"),
    ("portuguese", "Portuguese"), ("danish", "Danish"), ("finnish", "Finnish"),
    ("norwegian", "Norwegian"), ("swedish", "Swedish"), ("russian", "Russian"),
    ("turkish", "Turkish"), ("hungarian", "Hungarian"), ("romanian", "Romanian"),
]
EMBED_BATCH = 64
# Records read per query when a record source is indexed.
RECORD_BATCH = 500
TEXT_MIMETYPES = ("text/plain", "text/markdown", "text/x-markdown", "text/csv")
HTML_MIMETYPES = ("text/html", "application/xhtml+xml")
# What _llm_lock raises when a user wrote the source since the cron's transaction began
# (REPEATABLE READ), or is writing it now.
CONCURRENT_WRITE = (errors.SerializationFailure, errors.LockNotAvailable)


class LlmKnowledgeSource(models.Model):
    _name = "llm.knowledge.source"
    _description = "LLM Knowledge Source"
    _order = "sequence, name, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    kind = fields.Selection(
        [("file", "Files"), ("record", "Odoo Records"), ("url", "Web Pages"),
         ("memory", "Memory")], required=True, default="file",
        help="Files: uploaded documents (PDF, DOCX, ODT, XLSX, HTML, Markdown, text). "
             "Odoo Records: the chosen fields of the records of a model matching a domain. "
             "Web Pages: pages fetched by the server from their URL. "
             "Memory: each user's own past conversations, retrieved only for that user (each "
             "user turns it on in their preferences).")
    company_ids = fields.Many2many(
        "res.company", string="Companies",
        help="Only users working in one of these companies retrieve this source; empty: all.")
    group_ids = fields.Many2many(
        "res.groups", string="Groups",
        help="Only members of one of these groups retrieve this source; empty: every LLM user. "
             "Chunks of records are also checked against each user's own access at search time.")
    language = fields.Selection(
        LANGUAGES, required=True, default="english",
        help="The language of the text, for full-text search (stemming and stop words).")
    embedding_model_id = fields.Many2one(
        "llm.model", string="Embedding Model", ondelete="restrict",
        domain="[('use', '=', 'embedding')]",
        help="Turns the chunks into vectors for meaning-based search. Without one, the source "
             "is searched by full text only.")
    embedding_dimensions = fields.Integer(
        string="Dimensions",
        help="Ask the model for vectors of this size (OpenAI text-embedding-3 models and some "
             "others); 0: the model's own size.")
    embedding_note = fields.Char(compute="_compute_embedding_note")

    # Files
    attachment_ids = fields.Many2many(
        "ir.attachment", "llm_knowledge_source_attachment_rel", "source_id", "attachment_id",
        string="Files")
    # Odoo records
    model_id = fields.Many2one("ir.model", string="Model", ondelete="cascade")
    model_name = fields.Char(related="model_id.model", string="Model Name")
    domain = fields.Char(default="[]", help="Which records of the model are indexed.")
    field_ids = fields.Many2many(
        "ir.model.fields", string="Fields", domain="[('model_id', '=', model_id)]",
        help="The fields whose text is indexed; the record's name is always its heading.")

    state = fields.Selection(
        [("draft", "Not indexed"), ("queued", "Queued"), ("indexing", "Indexing"),
         ("ready", "Ready"), ("error", "Error")],
        default="draft", required=True, readonly=True, copy=False)
    progress_done = fields.Integer(readonly=True, copy=False)
    progress_total = fields.Integer(readonly=True, copy=False)
    status = fields.Char(compute="_compute_status")
    index_error = fields.Text("Indexing Error", readonly=True, copy=False)
    indexed_at = fields.Datetime("Indexed On", readonly=True, copy=False)
    # Records counted at the last indexing: a different count means records were removed.
    indexed_record_count = fields.Integer(readonly=True, copy=False)
    # Bumped whenever the source's vectors change: vector caches of every worker compare it.
    vector_version = fields.Integer(readonly=True, copy=False)
    chunk_ids = fields.One2many("llm.knowledge.chunk", "source_id", string="Chunks")
    chunk_count = fields.Integer(compute="_compute_chunk_count")

    _sql_constraints = [
        ("dimensions_positive", "CHECK(embedding_dimensions >= 0)",
         "The number of dimensions cannot be negative."),
    ]

    @api.depends("embedding_model_id")
    def _compute_embedding_note(self):
        for source in self:
            model = source.embedding_model_id.sudo()
            if not model:
                source.embedding_note = self.env._(
                    "No embedding model: vector search is off for this source, which is "
                    "searched by full text only.")
            elif not model.provider_id._get_provider().supports_embeddings:
                source.embedding_note = self.env._(
                    "%s has no embeddings API: choose a model of an OpenAI-compatible or Ollama "
                    "provider.", model.provider_id.name)
            else:
                source.embedding_note = False

    @api.depends("state", "progress_done", "progress_total", "index_error")
    def _compute_status(self):
        for source in self:
            if source.state == "indexing":
                source.status = self.env._("Indexing %(done)s/%(total)s",
                                           done=source.progress_done, total=source.progress_total)
            elif source.state == "error":
                source.status = self.env._("Error: %s", source.index_error or "")
            else:
                source.status = dict(self._fields["state"]._description_selection(self.env))[
                    source.state]

    def _compute_chunk_count(self):
        counts = dict(self.env["llm.knowledge.chunk"].sudo()._read_group(
            [("source_id", "in", self.ids)], ["source_id"], ["__count"]))
        for source in self:
            source.chunk_count = counts.get(source, 0)

    @api.constrains("embedding_model_id")
    def _check_embedding_model(self):
        for source in self:
            model = source.embedding_model_id.sudo()
            if model and model.use != "embedding":
                raise ValidationError(self.env._("%s is a chat model; choose an embedding model.",
                                                 model.display_name))
            if model and not model.provider_id._get_provider().supports_embeddings:
                raise ValidationError(source.embedding_note)

    @api.constrains("kind", "model_id", "field_ids", "domain")
    def _check_record_source(self):
        for source in self.filtered(lambda s: s.kind == "record"):
            if not source.model_id or not source.field_ids:
                raise ValidationError(self.env._(
                    "The source %s indexes records: choose a model and the fields to index.",
                    source.name))
            records = self.env[source.model_id.model]
            for field in source.field_ids:
                if field.model_id != source.model_id:
                    raise ValidationError(self.env._("%(field)s is not a field of %(model)s.",
                                                     field=field.name, model=source.model_id.model))
                if records._fields[field.name].groups:
                    # Indexing runs as superuser: such a field's text would reach users the
                    # field hides it from.
                    raise ValidationError(self.env._(
                        "The field %s is restricted to some groups and cannot be indexed.",
                        field.field_description))
            source._llm_domain()

    # ------------------------------------------------------------------
    # CRUD: queue indexing when what is indexed changes
    # ------------------------------------------------------------------

    _INDEXED_FIELDS = frozenset({"kind", "attachment_ids", "model_id", "domain", "field_ids",
                                 "language", "urls"})
    _VECTOR_FIELDS = frozenset({"embedding_model_id", "embedding_dimensions"})

    @api.model_create_multi
    def create(self, vals_list):
        sources = super().create(vals_list)
        sources._llm_own_attachments()
        sources._llm_queue()
        return sources

    def write(self, vals):
        result = super().write(vals)
        if "attachment_ids" in vals:
            self._llm_own_attachments()
        if self._VECTOR_FIELDS & vals.keys():
            # Vectors of another model (or size) cannot be compared with the new ones.
            self.env.flush_all()
            self.env.cr.execute("UPDATE llm_knowledge_chunk SET embedding = NULL "
                                "WHERE source_id = ANY(%s)", [self.ids])
            self._llm_bump_vectors()
        if (self._INDEXED_FIELDS | self._VECTOR_FIELDS) & vals.keys():
            self._llm_queue()
        return result

    def _llm_own_attachments(self):
        """Attach the files to their source: reading one then requires reading the source
        (ir.attachment follows res_model/res_id), which is what a citation opens.

        Only files the user may read (Odoo's own check of an attachment: its record, its
        discussion): an LLM manager is no Settings administrator, and a source serves its
        files to all its users. A file the user uploaded for the source (on no record) is
        moved to it; any other (a record's, a discussion's, another source's) is copied:
        moved, it would leave its record, and its readers, for the source's."""
        Attachment = self.env["ir.attachment"]
        for source in self:
            files = source.sudo().attachment_ids.filtered(
                lambda a: a.res_model != self._name or a.res_id != source.id)
            if not files:
                continue
            hidden = files - Attachment._filter_attachment_access(files.ids)
            if hidden:
                # By id: the name of a file the user may not read is not theirs to learn.
                raise AccessError(self.env._(
                    "You may not use the file #%s in a knowledge source: it belongs to a record or "
                    "a discussion you cannot read. Upload the file itself instead.",
                    hidden[0].id))
            uploaded = files.filtered(
                lambda a: not a.res_id and not a.res_field and a.create_uid.id == self.env.uid)
            uploaded.write({"res_model": self._name, "res_id": source.id})
            others = files - uploaded
            if others:
                copies = others.copy({"res_model": self._name, "res_id": source.id,
                                      "res_field": False})
                source.sudo().attachment_ids = [
                    *map(Command.unlink, others.ids), *map(Command.link, copies.ids)]

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def action_index(self):
        """Index again (also the Retry of a source in error)."""
        self._llm_queue()

    def action_view_chunks(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "llm_thread.action_llm_knowledge_chunk")
        action["domain"] = [("source_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # Indexing
    # ------------------------------------------------------------------

    def _llm_queue(self):
        sources = self.filtered("active")
        if not sources:
            return
        sources.sudo().write({"state": "queued", "index_error": False})
        self.env.ref("llm_thread.ir_cron_llm_knowledge_index").sudo()._trigger()

    @api.model
    def _cron_index(self, max_batches=None):
        """Index the queued sources (and those left half-done by a crash), after queueing the
        record sources whose records changed. ``max_batches`` bounds the embedding batches of
        one run (the cron is run again for the rest)."""
        try:
            self.sudo()._llm_queue_changed_records()
            self._llm_commit()
        except CONCURRENT_WRITE:
            # A user is saving one of them: the changes are found again at the next run.
            self.env.cr.rollback()
        sources = self.sudo().search([("state", "in", ("queued", "indexing"))], order="id")
        batches = 0
        for source in sources:
            batches += source._llm_index(None if max_batches is None else max_batches - batches)
            if max_batches is not None and batches >= max_batches:
                break
        remaining = self.sudo().search_count([("state", "in", ("queued", "indexing"))])
        self.env["ir.cron"]._notify_progress(done=len(sources), remaining=remaining)

    def _llm_queue_changed_records(self):
        """Record sources whose records were modified, added or removed since they were
        indexed; unchanged records keep their vectors (checksums), so this is cheap."""
        for source in self.search([("kind", "=", "record"), ("state", "=", "ready")]):
            records = self.env[source.model_id.model].with_context(active_test=True)
            domain = source._llm_domain()
            changed = records.search_count(domain + [("write_date", ">", source.indexed_at)],
                                           limit=1)
            if changed or records.search_count(domain) != source.indexed_record_count:
                source._llm_lock()
                source._llm_queue()

    def _llm_index(self, max_batches=None):
        """Index this source as far as ``max_batches`` embedding batches go; returns the
        batches run. Failures put the source in error with the reason, and never escape."""
        self.ensure_one()
        batches = 0
        try:
            try:
                # The state is read again at each step (a commit clears the cache): a user may
                # have queued the source again since the last one, e.g. with other files.
                while True:
                    if self.state == "queued":
                        self._llm_sync_chunks()
                    elif max_batches is not None and batches >= max_batches:
                        return batches
                    elif self._llm_embed_next_batch():
                        batches += 1
                    else:
                        self._llm_lock()
                        self.state = "ready"
                        break
                    self._llm_commit()
            except CONCURRENT_WRITE:
                raise  # not the source's fault: handled below
            except (ProviderError, UserError) as error:
                message = (self.embedding_model_id.provider_id._error_message(error)
                           if isinstance(error, ProviderError) else error.args[0])
                self._llm_fail(message)
            except Exception as error:  # noqa: BLE001 - one source's fault must not stop the others
                _logger.info("Knowledge source %s failed to index", self.name, exc_info=True)
                self._llm_fail(f"{type(error).__name__}: {error}")
            self._llm_commit()
        except CONCURRENT_WRITE:
            # The user's save stands; this step, worked out from the source as it was, is
            # dropped. The source is still queued or indexing: the cron, which reports it as
            # remaining, runs again for it.
            self.env.cr.rollback()
            _logger.info("Knowledge source #%s was saved by a user while it was indexed: "
                         "its indexing goes on at the next run", self.id)
        return batches

    def _llm_lock(self):
        """Lock the sources' rows for the writes of this step of the cron, at once: raises
        one of ``CONCURRENT_WRITE`` (not logged) when a user saved one of them since the step
        began or is saving it now. Taken only once the step's slow work (reading the text,
        calling the provider) is done, so a user's save never waits for it."""
        self.env.cr.execute("SELECT id FROM llm_knowledge_source WHERE id = ANY(%s) "
                            "FOR NO KEY UPDATE NOWAIT", [self.ids], log_exceptions=False)

    def _llm_fail(self, message):
        if self._llm_auto_commit():
            # Drop the failed batch; the batches committed before it stay done.
            self.env.cr.rollback()
            self.env.invalidate_all()
        self._llm_lock()
        self.write({"state": "error", "index_error": message})

    @staticmethod
    def _llm_auto_commit():
        # Tests run in one transaction that they roll back.
        return not getattr(threading.current_thread(), "testing", False)

    def _llm_commit(self):
        if self._llm_auto_commit():
            self.env.cr.commit()

    def _llm_sync_chunks(self):
        """Cut the source's current text into chunks: a chunk whose checksum is already there
        is kept with its vector, the others are created without one; gone ones are removed."""
        pieces = self._llm_pieces()
        self._llm_lock()
        Chunk = self.env["llm.knowledge.chunk"].sudo()
        existing = {}
        for chunk in Chunk.search([("source_id", "=", self.id)], order="id"):
            if chunk.checksum in existing:
                chunk.unlink()  # the same text twice keeps one chunk
            else:
                existing[chunk.checksum] = chunk
        keep = Chunk
        create = []
        for sequence, piece in enumerate(pieces):
            checksum = hashlib.sha256("\x1f".join(
                (piece["heading"], piece["content"])).encode()).hexdigest()
            values = {**piece, "sequence": sequence}
            chunk = existing.pop(checksum, None)
            if chunk:
                changes = {key: value for key, value in values.items()
                           if _stored(chunk, key) != value}
                if changes:
                    chunk.write(changes)
                keep |= chunk
            elif checksum not in {c["checksum"] for c in create}:
                create.append({**values, "checksum": checksum, "source_id": self.id})
        removed = Chunk.browse([chunk.id for chunk in existing.values()])
        if removed:
            removed.unlink()
        created = Chunk.create(create)
        created._llm_update_tsv()
        if removed:
            self._llm_bump_vectors()
        # The text was read at the start of this transaction: a record written after that
        # gets a later write_date and queues the source again (_llm_queue_changed_records).
        self.write({"state": "indexing", "indexed_at": self.env.cr.now(),
                    "progress_total": len(keep) + len(created),
                    "progress_done": len(keep._llm_embedded()) if self.embedding_model_id else 0,
                    "indexed_record_count": self._llm_record_count()})

    def _llm_embed_next_batch(self):
        """Embed the next chunks without a vector; False when there are none (or no model)."""
        if not self.embedding_model_id:
            return False
        self.env.flush_all()
        self.env.cr.execute("""
            SELECT id FROM llm_knowledge_chunk
             WHERE source_id = %s AND embedding IS NULL ORDER BY id LIMIT %s
        """, [self.id, EMBED_BATCH])
        chunks = self.env["llm.knowledge.chunk"].sudo().browse(
            [row[0] for row in self.env.cr.fetchall()])
        if not chunks:
            return False
        model = self.embedding_model_id.sudo()
        texts = [chunk._llm_embedding_text() for chunk in chunks]
        usage = self.env["llm.usage"]
        refusal = usage._llm_check_embedding(model, texts)
        if refusal:
            raise UserError(refusal)  # the source's error: indexing resumes at Retry
        result = model.provider_id._get_provider().embed(
            model.api_id, texts, self.embedding_dimensions or None)
        try:
            self._llm_lock()
        except CONCURRENT_WRITE:
            # The step is dropped (_llm_index), not the call the provider bills: its line is
            # written on its own.
            self.env.cr.rollback()
            usage._llm_count_embedding(model, texts, result)
            self._llm_commit()
            raise
        usage._llm_count_embedding(model, texts, result)
        chunks._llm_store_vectors(result.vectors)
        self._llm_bump_vectors()
        self.progress_done = min(self.progress_total, self.progress_done + len(chunks))
        return True

    def _llm_bump_vectors(self):
        self.env.cr.execute("UPDATE llm_knowledge_source SET vector_version = vector_version + 1 "
                            "WHERE id = ANY(%s)", [self.ids])
        self.invalidate_recordset(["vector_version"])

    # ------------------------------------------------------------------
    # Text of the sources
    # ------------------------------------------------------------------

    def _llm_domain(self):
        records = self.env[self.model_id.model]
        try:
            domain = safe_eval(self.domain or "[]")
            # Looked for first: Odoo would log an error and drop the condition, and the source
            # would index records its domain meant to leave out.
            unsearchable = unsearchable_field(records, domain)
            if not unsearchable:
                records._where_calc(domain)
        except Exception as error:  # noqa: BLE001 - any fault of a typed domain is the user's
            raise ValidationError(self.env._("The domain of %(name)s is not valid: %(error)s",
                                             name=self.name, error=error)) from None
        if unsearchable:
            raise ValidationError(self.env._(
                "The domain of %(name)s filters on %(field)s, which cannot be searched. Use a "
                "stored field instead.", name=self.name, field=unsearchable))
        return domain

    def _llm_record_count(self):
        if self.kind != "record":
            return 0
        return self.env[self.model_id.model].with_context(active_test=True).search_count(
            self._llm_domain())

    def _llm_pieces(self):
        """The chunks' values (content, heading, page, attachment or record) of the source."""
        return getattr(self, f"_llm_pieces_{self.kind}")()

    def _llm_pieces_file(self):
        pieces = []
        for attachment in self.attachment_ids.sudo():
            for piece in chunking.chunk_sections(_attachment_sections(attachment)):
                pieces.append({"content": piece.text, "heading": piece.heading or attachment.name,
                               "page": piece.page, "attachment_id": attachment.id})
        return pieces

    def _llm_pieces_record(self):
        records = self.env[self.model_id.model].with_context(active_test=True)
        fields_ = [records._fields[field.name] for field in self.field_ids]
        pieces = []
        ids = records.search(self._llm_domain(), order="id").ids
        for start in range(0, len(ids), RECORD_BATCH):
            for record in records.browse(ids[start:start + RECORD_BATCH]):
                lines = []
                for field in fields_:
                    value = _field_text(record, field)
                    if value:
                        lines.append(f"{field.string}: {value}")
                if not lines:
                    continue
                section = chunking.Section("\n\n".join(lines), record.display_name or "")
                for piece in chunking.chunk_sections([section]):
                    pieces.append({"content": piece.text, "heading": piece.heading,
                                   "res_model": records._name, "res_id": record.id})
        return pieces


def _stored(record, name):
    value = record[name]
    return value.id if isinstance(value, models.BaseModel) else value


def _field_text(record, field):
    value = record[field.name]
    if field.type == "html":
        return html2plaintext(value or "").strip()
    if field.type in ("many2one", "many2many", "one2many"):
        return ", ".join(value.mapped("display_name"))
    if field.type == "selection":
        return dict(field._description_selection(record.env)).get(value) or ""
    if field.type == "boolean":
        return ""  # a bare yes/no is no knowledge
    return str(value) if value not in (False, None) else ""


def _attachment_sections(attachment):
    """Sections of a file: Markdown and plain text read as UTF-8, HTML by its headings, the
    rest (PDF by page, DOCX, ODT, XLSX...) through Odoo's own text extraction
    (``ir.attachment._index``, extended by attachment_indexation)."""
    raw = attachment.raw or b""
    mimetype = attachment.mimetype or ""
    name = (attachment.name or "").lower()
    if mimetype in HTML_MIMETYPES or name.endswith((".html", ".htm")):
        return chunking.html_sections(_decode(raw))
    if mimetype in TEXT_MIMETYPES or name.endswith((".md", ".markdown", ".txt")):
        # Odoo's own _index keeps only ASCII from text files: decode it ourselves.
        return chunking.markdown_sections(_decode(raw))
    text = (attachment._index(raw, mimetype) or "").replace("\x00", "")
    if not text or text == mimetype.split("/")[0]:
        raise UserError(attachment.env._(
            "No text could be read from %(file)s (%(type)s). Upload a PDF with text (not a "
            "scan), a DOCX, ODT, XLSX, HTML, Markdown or text file.",
            file=attachment.name, type=mimetype or "?"))
    return chunking.page_sections(text)


def _decode(raw):
    """A text file's text: UTF-8, or the encoding its byte order mark names (Windows' Notepad
    saves "Unicode" as UTF-16); without NUL characters, which PostgreSQL's text refuses."""
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            break
    else:
        encoding = "utf-8"
    return raw.decode(encoding, "replace").replace("\x00", "")
