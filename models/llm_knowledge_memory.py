"""Memory: each user's own past conversations as a knowledge source.

A user turns it on in their preferences (``res.users.llm_memory``). The memory source (kind
``memory``, one is installed) is then indexed like any other, in the background: each of that
user's conversations becomes chunks headed by its name, and each chunk carries its owner
(``llm.knowledge.chunk.user_id``). Retrieval gives such a chunk to its owner only
(``llm.knowledge.chunk._llm_readable_by``, the one gate of every search: chat, tool, search
box), whatever else the asking user may read: managers may read every conversation, but never
get another user's memory; nor can they read the chunks themselves (a global record rule,
security/llm_knowledge_rules.xml). Turning memory off removes the user's chunks at once.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from . import llm_knowledge_chunking as chunking
from ..engine.turn import message_text

MEMORY_ROLES = ("user", "assistant")


class ResUsersMemory(models.Model):
    _inherit = "res.users"

    llm_memory = fields.Boolean(
        "Remember My Conversations",
        help="Your past conversations with the assistant are indexed in the background and "
             "searched before its answers, for you only. Turn it off to forget them.")

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["llm_memory"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["llm_memory"]

    def write(self, vals):
        result = super().write(vals)
        if "llm_memory" in vals:
            Source = self.env["llm.knowledge.source"].sudo()
            if not vals["llm_memory"]:
                # Forgotten now, not at the next indexing. The source's row is written before
                # its chunks, in the order the indexing cron locks them: the other order could
                # deadlock with a batch being written.
                Source.search([("kind", "=", "memory")])._llm_bump_vectors()
                self.env["llm.knowledge.chunk"].sudo().search(
                    [("user_id", "in", self.ids)]).unlink()
            Source.search([("kind", "=", "memory")])._llm_queue()
        return result


class LlmKnowledgeSourceMemory(models.Model):
    _inherit = "llm.knowledge.source"

    def _llm_memory_threads(self):
        """The conversations of the users who turned memory on (archived ones are not
        remembered, as no archived record is)."""
        return self.env["llm.thread"].with_context(active_test=True).search(
            [("user_id.llm_memory", "=", True), ("user_id.active", "=", True)], order="id")

    def _llm_pieces_memory(self):
        pieces = []
        for thread in self._llm_memory_threads():
            lines = [f"{message.llm_role.capitalize()}: {message_text(message)}"
                     for message in thread._llm_history()
                     if message.llm_role in MEMORY_ROLES and message.body]
            if not lines:
                continue
            section = chunking.Section("\n\n".join(lines), thread.name or "")
            for piece in chunking.chunk_sections([section]):
                pieces.append({"content": piece.text, "heading": piece.heading,
                               "res_model": thread._name, "res_id": thread.id,
                               "user_id": thread.user_id.id})
        return pieces

    @api.constrains("kind")
    def _check_one_memory(self):
        # A second one would index every memory again and send each passage twice.
        if self.filtered(lambda source: source.kind == "memory") and self.with_context(
                active_test=False).search_count([("kind", "=", "memory")]) > 1:
            raise ValidationError(self.env._(
                "There is one Memory source, made with the module (LLM > Knowledge): each "
                "user's memory is indexed there. Choose another kind."))

    def _llm_record_count(self):
        if self.kind == "memory":
            return len(self._llm_memory_threads())
        return super()._llm_record_count()

    @api.model
    def _llm_queue_changed_records(self):
        """Also the memory sources, when a conversation of a user with memory got a message
        or was renamed since they were indexed, or conversations came or went."""
        super()._llm_queue_changed_records()
        for source in self.search([("kind", "=", "memory"), ("state", "=", "ready")]):
            threads = source._llm_memory_threads()
            changed = self.env["mail.message"].search_count(
                [("model", "=", "llm.thread"), ("res_id", "in", threads.ids),
                 ("llm_role", "in", MEMORY_ROLES), ("write_date", ">", source.indexed_at)],
                limit=1) or threads.filtered(lambda t: t.write_date > source.indexed_at)
            if changed or len(threads) != source.indexed_record_count:
                source._llm_lock()
                source._llm_queue()
