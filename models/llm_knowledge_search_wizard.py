from odoo import api, fields, models


class LlmKnowledgeSearchWizard(models.TransientModel):
    """LLM > Knowledge > Search: the chunks a query finds, with their scores, as the
    conversations of the current user would get them."""

    _name = "llm.knowledge.search.wizard"
    _description = "LLM Knowledge Search Box"
    _rec_name = "query"  # the breadcrumb's

    query = fields.Char(required=True)
    source_ids = fields.Many2many("llm.knowledge.source", string="Sources",
                                  help="Empty: every source you may read.")
    result_ids = fields.One2many("llm.knowledge.search.result", "wizard_id", string="Results")
    vector_note = fields.Char(readonly=True)

    def action_search(self):
        self.ensure_one()
        found = self.env["llm.knowledge.search"]._llm_search(
            self.query, self.source_ids or None, limit=20, token_budget=100000)
        chunks = self.env["llm.knowledge.chunk"].sudo()
        # Result lines are the search's alone (users may only read them): written in sudo.
        self.sudo().write({"vector_note": found.vector_note, "result_ids": [(5, 0, 0)] + [
            (0, 0, {"rank": rank, "chunk_id": hit.chunk_id, "score": hit.score,
                    "text_rank": hit.text_rank or 0, "vector_rank": hit.vector_rank or 0,
                    "similarity": hit.similarity or 0.0,
                    "url": chunks.browse(hit.chunk_id)._llm_citation()["url"]})
            for rank, hit in enumerate(found.hits, 1)]})
        # Nothing to open: the form shows the results in place (a new action would stack one
        # breadcrumb per search).


class LlmKnowledgeSearchResult(models.TransientModel):
    _name = "llm.knowledge.search.result"
    _description = "LLM Knowledge Search Result"
    _order = "rank"

    wizard_id = fields.Many2one("llm.knowledge.search.wizard", required=True, ondelete="cascade")
    rank = fields.Integer()
    chunk_id = fields.Many2one("llm.knowledge.chunk", readonly=True, ondelete="cascade")
    source_name = fields.Char(compute="_compute_chunk_fields")
    heading = fields.Char(compute="_compute_chunk_fields")
    content = fields.Text(compute="_compute_chunk_fields")
    score = fields.Float("Fused Score", digits=(16, 5),
                         help="Reciprocal rank fusion of the full-text and vector rankings.")
    text_rank = fields.Integer("Full-Text Rank", help="0: not found by full-text search.")
    vector_rank = fields.Integer("Vector Rank", help="0: not among the closest vectors.")
    similarity = fields.Float("Cosine Similarity", digits=(16, 4))
    url = fields.Char("Opens")

    @api.depends("chunk_id")
    def _compute_chunk_fields(self):
        # Users may not read chunks directly: read in sudo, each through the gate of every
        # passage, so a line shows only what its user may read now.
        readable = self.sudo().chunk_id._llm_readable_by(self.env)
        for result in self:
            chunk = result.sudo().chunk_id & readable
            result.source_name = chunk.source_id.name
            result.heading = chunk.heading
            result.content = chunk.content
