from odoo import models


class LlmKnowledgeChunk(models.Model):
    _inherit = "llm.knowledge.chunk"

    def _llm_citation(self):
        """For the live chat agent (not an internal user), where a visitor can read the
        passage: its source's public page, or nothing; the backend's own URLs (a record, an
        attachment) open nothing for them, and the model would pass them on."""
        citation = super()._llm_citation()
        if not self.env.user._is_internal():
            citation.pop("res_model", None)
            citation.pop("res_id", None)
            citation["url"] = self.source_id.sudo().public_url or ""
        return citation
