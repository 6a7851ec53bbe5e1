"""Chunks of the knowledge sources, with their full-text vector and embedding.

Two columns are managed in SQL beside the ORM's: ``content_tsv`` (tsvector in the source's
language, GIN-indexed; heading weighted above the text) and ``embedding`` (the vector as
little-endian float32 bytes, read by llm_knowledge_search.ExactVectorIndex).
"""

import numpy

from odoo import api, fields, models


class LlmKnowledgeChunk(models.Model):
    _name = "llm.knowledge.chunk"
    _description = "LLM Knowledge Chunk"
    _order = "source_id, sequence, id"
    _rec_name = "heading"

    source_id = fields.Many2one("llm.knowledge.source", required=True, ondelete="cascade",
                                index=True)
    sequence = fields.Integer()
    content = fields.Text(required=True)
    heading = fields.Char()
    page = fields.Integer(help="Page of the file, from 1; 0 when the file has no pages.")
    attachment_id = fields.Many2one("ir.attachment", ondelete="cascade")
    res_model = fields.Char("Record Model", index=True)
    res_id = fields.Many2oneReference("Record", model_field="res_model")
    url = fields.Char("Web Page", help="The page the chunk was read from (web page sources).")
    # Memory (llm_knowledge_memory.py): the one user this chunk is ever retrieved for.
    user_id = fields.Many2one("res.users", string="Only For", index=True, ondelete="cascade")
    checksum = fields.Char(required=True, index=True,
                           help="SHA-256 of the heading and text: unchanged text keeps its vector.")
    token_count = fields.Integer(compute="_compute_token_count", store=True)
    has_embedding = fields.Boolean(compute="_compute_has_embedding")

    def init(self):
        self.env.cr.execute("""
            ALTER TABLE llm_knowledge_chunk ADD COLUMN IF NOT EXISTS content_tsv tsvector;
            ALTER TABLE llm_knowledge_chunk ADD COLUMN IF NOT EXISTS embedding bytea;
            CREATE INDEX IF NOT EXISTS llm_knowledge_chunk_content_tsv_idx
                ON llm_knowledge_chunk USING gin (content_tsv);
        """)

    @api.depends("content", "heading")
    def _compute_token_count(self):
        for chunk in self:
            # About four characters per token, as engine.tokens.estimate_tokens.
            chunk.token_count = (len(chunk.content or "") + len(chunk.heading or "")) // 4 + 4

    def _compute_has_embedding(self):
        embedded = set(self._llm_embedded().ids)
        for chunk in self:
            chunk.has_embedding = chunk.id in embedded

    def _llm_embedded(self):
        self.flush_recordset()
        self.env.cr.execute("SELECT id FROM llm_knowledge_chunk WHERE id = ANY(%s) "
                            "AND embedding IS NOT NULL", [self.ids])
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    def _llm_embedding_text(self):
        self.ensure_one()
        return f"{self.heading}\n{self.content}" if self.heading else self.content

    def _llm_update_tsv(self):
        """Fill ``content_tsv`` in the language of each chunk's source."""
        if not self:
            return
        self.flush_recordset()
        self.env.cr.execute("""
            UPDATE llm_knowledge_chunk c
               SET content_tsv = setweight(to_tsvector(s.language::regconfig,
                                                       coalesce(c.heading, '')), 'A')
                                 || to_tsvector(s.language::regconfig, c.content)
              FROM llm_knowledge_source s
             WHERE s.id = c.source_id AND c.id = ANY(%s)
        """, [self.ids])

    def _llm_store_vectors(self, vectors):
        """Store one vector a chunk, in order, as float32 bytes."""
        rows = [(numpy.asarray(vector, dtype="<f4").tobytes(), chunk_id)
                for chunk_id, vector in zip(self.ids, vectors)]
        self.env.cr.executemany("UPDATE llm_knowledge_chunk SET embedding = %s WHERE id = %s",
                                rows)

    def _llm_citation(self):
        """Where the chunk comes from, for a citation: a label and the URL that opens it."""
        self.ensure_one()
        if self.res_model:
            # A remembered conversation opens in LLM Chat, not as its backend record.
            url = f"/odoo/{self.res_id}/llm-chat" if self.res_model == "llm.thread" \
                else f"/odoo/{self.res_model}/{self.res_id}"
            return {"label": self.heading or self.source_id.name, "url": url,
                    "res_model": self.res_model, "res_id": self.res_id}
        if self.url:
            return {"label": self.heading or self.url, "url": self.url}
        if self.attachment_id:
            page = f"#page={self.page}" if self.page else ""
            label = self.attachment_id.name + (
                self.env._(", page %s", self.page) if self.page else "")
            return {"label": label, "url": f"/web/content/{self.attachment_id.id}{page}"}
        return {"label": self.heading or self.source_id.name, "url": ""}
