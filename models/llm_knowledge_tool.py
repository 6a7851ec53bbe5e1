from odoo import api, models

from .llm_tool_registry import ToolError, llm_tool

TOOL_LIMIT = 8


class LlmToolKnowledge(models.Model):
    _inherit = "llm.tool"

    @api.model
    def _llm_default_names(self):
        """New conversations enable search_knowledge only when their user has knowledge
        sources to search: otherwise it would only cost prompt tokens. The memory source,
        installed with the module, does not count: memory is searched before each answer
        of the users who turned it on."""
        names = super()._llm_default_names()
        if "search_knowledge" in names and not self.env["llm.knowledge.source"].search_count(
                [("kind", "!=", "memory")], limit=1):
            names = [name for name in names if name != "search_knowledge"]
        return names

    @api.model
    @llm_tool("Search the company's knowledge sources (documents, records) for passages "
              "relevant to a question. Cite a passage you use with its source label.",
              {"type": "object", "properties": {
                  "query": {"type": "string", "description": "What to look for, in words"},
                  "limit": {"type": "integer", "minimum": 1, "maximum": TOOL_LIMIT}},
               "required": ["query"]})
    def _llm_tool_search_knowledge(self, query, limit=5):
        if not isinstance(query, str) or not query.strip():
            raise ToolError(self.env._("Give the words to search for in 'query'."))
        # The sources of the conversation calling (_llm_execute), by default every one its user
        # may read; every chunk checked for this user.
        thread = self.env["llm.thread"].browse(self.env.context.get("llm_tool_thread_id"))
        found = self.env["llm.knowledge.search"]._llm_search(
            query, thread._llm_tool_knowledge_sources() if thread else None,
            limit=max(1, min(int(limit), TOOL_LIMIT)))
        chunks = self.env["llm.knowledge.chunk"].sudo().browse([h.chunk_id for h in found.hits])
        return [{"source": chunk.source_id.name, **chunk._llm_citation(),
                 "heading": chunk.heading or "", "text": chunk.content,
                 "score": round(hit.score, 5)}
                for hit, chunk in zip(found.hits, chunks)]
