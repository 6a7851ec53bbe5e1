"""Hybrid search over the knowledge chunks, in PostgreSQL and this process: full-text search
(the chunks' language-aware ``tsvector``) and exact vector similarity, fused by reciprocal
rank fusion, then filtered by what the asking user may read, within a token budget.

The vector side is :class:`ExactVectorIndex`, the only code that knows how vectors are
scored: an approximate index (an HNSW extension, a separate server) would replace it behind
the same ``top_k``. See docs/knowledge.md for when a deployment outgrows exact search.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy

from odoo import api, models
from odoo.exceptions import AccessError

from ..providers import ProviderError

_logger = logging.getLogger(__name__)

CANDIDATES = 50  # best chunks taken from each ranking before fusion
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al.)
DEFAULT_LIMIT = 6
DEFAULT_TOKEN_BUDGET = 2000
# Below this cosine similarity a chunk is not relevant, however close it is among the others:
# without a floor, vector search always "finds" something and "sources only" could never say
# "I don't know". Tunable per database (models differ in how they spread similarities).
MIN_SIMILARITY_PARAM = "llm_thread.knowledge_min_similarity"
DEFAULT_MIN_SIMILARITY = 0.3

# -> (chunk id, rank) of the chunks of ``ids`` matching the words of ``query`` (in the
# language ``lang``) joined by ``op``: " & " (all of them), else " | " (any), leaving out the
# lexemes of ``excluded``. At most MATCH_CAP matching chunks are ranked: ranking reads every
# candidate's tsvector, and a common word matches a large part of a big corpus (vector search
# still ranks the whole corpus). The query's lexemes are already normalised: the tsquery is
# built from them with the "simple" configuration, which only lowercases.
MATCH_CAP = 1000
TEXT_RANKING_SQL = f"""
    WITH q AS (SELECT to_tsquery('simple', coalesce(string_agg(quote_literal(lexeme), %(op)s),
                                                    '')) AS query
                 FROM unnest(to_tsvector(%(lang)s::regconfig, %(query)s))
                WHERE lexeme <> ALL(%(excluded)s)),
         matches AS (SELECT c.id, c.content_tsv FROM llm_knowledge_chunk c, q
                      WHERE numnode(q.query) > 0 AND c.source_id = ANY(%(ids)s)
                        AND c.content_tsv @@ q.query
                      LIMIT {MATCH_CAP})
    SELECT m.id, ts_rank_cd(m.content_tsv, q.query) FROM matches m, q
     ORDER BY 2 DESC, m.id LIMIT %(limit)s
"""
# Words in more than COMMON_FRACTION of the chunks are left out of the any-word query (still
# in the all-words one): they say little about a chunk (a search engine weighs them near
# zero) and their long index lists are what made that query slow at 100,000 chunks. Read from
# PostgreSQL's own statistics of the column (pg_stats, kept by ANALYZE), once per
# COMMON_TTL seconds and process; only past COMMON_MIN_CHUNKS, below which every word of a
# small corpus looks common and nothing is slow anyway.
COMMON_FRACTION = 0.05
COMMON_MIN_CHUNKS = 5_000
COMMON_TTL = 600
COMMON_WORDS_SQL = """
    SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs
      FROM pg_stats s JOIN pg_class c ON c.oid = to_regclass('llm_knowledge_chunk')
     WHERE s.schemaname = current_schema() AND s.tablename = 'llm_knowledge_chunk'
       AND s.attname = 'content_tsv' AND c.reltuples > %s
"""
_common_words: dict[str, tuple[float, list[str]]] = {}


def common_words(cr) -> list[str]:
    """The lexemes in more than COMMON_FRACTION of the chunks (none below COMMON_MIN_CHUNKS)."""
    cached = _common_words.get(cr.dbname)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    cr.execute(COMMON_WORDS_SQL, [COMMON_MIN_CHUNKS])
    row = cr.fetchone()
    words = [word for word, frequency in zip(*row) if frequency > COMMON_FRACTION] \
        if row and row[0] else []
    _common_words[cr.dbname] = (time.monotonic() + COMMON_TTL, words)
    return words


def text_ranking(cr, language, query, source_ids):
    """``(chunk id, ts_rank_cd)`` of the full-text matches in one language: chunks with all
    the words of the query, or, when there are not enough of those, with any of its words
    that are not common (questions rarely share all their words with the answer). All
    first, because ranking every chunk holding one common word of a large corpus is what
    costs."""
    rows = []
    for operator in (" & ", " | "):
        cr.execute(TEXT_RANKING_SQL, {
            "op": operator, "lang": language, "query": query, "ids": source_ids,
            "excluded": common_words(cr) if operator == " | " else [], "limit": CANDIDATES})
        # Any-word matches include the all-words ones, unless every word was common.
        rows = cr.fetchall() or rows
        if len(rows) >= CANDIDATES:
            break
    return rows


class ExactVectorIndex:
    """Exact cosine similarity over one source's vectors, held in this process's memory as
    one float32 matrix of normalised rows (4 bytes x dimensions a chunk), loaded from the
    database once and again when the source's ``vector_version`` changes.

    The interface an approximate index would keep: ``load(cr, source_id, version)`` (with the
    cursor, in the request's thread) gives an object whose ``top_k(query, k)`` touches no
    database, so it can run in another thread while PostgreSQL ranks the full text."""

    _cache: dict[tuple[str, int], tuple[int, "ExactVectorIndex"]] = {}
    _lock = threading.Lock()

    def __init__(self, ids: numpy.ndarray, matrix: numpy.ndarray):
        self.ids = ids
        self.matrix = matrix

    @classmethod
    def load(cls, cr, source_id: int, version: int) -> "ExactVectorIndex":
        key = (cr.dbname, source_id)
        cached = cls._cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        cr.execute("SELECT id, embedding FROM llm_knowledge_chunk WHERE source_id = %s "
                   "AND embedding IS NOT NULL ORDER BY id", [source_id])
        rows = cr.fetchall()
        ids = numpy.fromiter((row[0] for row in rows), dtype=numpy.int64, count=len(rows))
        if rows:
            matrix = numpy.frombuffer(b"".join(bytes(row[1]) for row in rows), dtype="<f4")
            matrix = matrix.reshape(len(rows), -1).copy()
            norms = numpy.linalg.norm(matrix, axis=1, keepdims=True)
            matrix /= numpy.where(norms == 0, 1, norms)
        else:
            matrix = numpy.zeros((0, 0), dtype="<f4")
        index = cls(ids, matrix)
        with cls._lock:
            cls._cache[key] = (version, index)
        return index

    def top_k(self, query: numpy.ndarray, k: int) -> list[tuple[int, float]]:
        """``(chunk id, cosine similarity)`` of the ``k`` chunks closest to ``query``: one
        matrix-vector product (BLAS, which releases the GIL) and a partial sort."""
        if not len(self.ids) or self.matrix.shape[1] != query.shape[0]:
            return []
        scores = self.matrix @ (query / (numpy.linalg.norm(query) or 1.0))
        k = min(k, len(self.ids))
        best = numpy.argpartition(-scores, k - 1)[:k]
        best = best[numpy.argsort(-scores[best])]
        return [(int(self.ids[i]), float(scores[i])) for i in best]

    @classmethod
    def memory_bytes(cls) -> int:
        return sum(index.matrix.nbytes + index.ids.nbytes for _v, index in cls._cache.values())


def beside(background, foreground):
    """``(foreground(), background())``, ``background`` run in another thread meanwhile: the
    vector side (the provider embedding the query, then BLAS) while PostgreSQL ranks the full
    text on the request's cursor. Under gevent the thread is a greenlet: the provider's wait
    still overlaps."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-knowledge") as pool:
        future = pool.submit(background)
        return foreground(), future.result()


def vector_ranking(plans, query, floor):
    """``([(chunk id, similarity)], [(provider record, ProviderError)], [(model record,
    Embeddings)])``: ``query`` embedded once per plan (an embedding model and size: the model
    and provider records, the provider's client, the model's API id and the loaded indexes),
    each index scored; the best ``CANDIDATES`` at or above ``floor``; and the calls made, for
    their usage lines. No database access: runs beside the full-text query."""
    ranking, failures, calls = [], [], []
    for model, provider, client, api_id, dimensions, indexes in plans:
        try:
            embeddings = client.embed(api_id, [query], dimensions or None)
        except ProviderError as error:
            failures.append((provider, error))
            continue
        calls.append((model, embeddings))
        vector = numpy.asarray(embeddings.vectors[0], dtype="<f4")
        for index in indexes:
            ranking.extend(index.top_k(vector, CANDIDATES))
    ranking = sorted((row for row in ranking if row[1] >= floor), key=lambda row: -row[1])
    return ranking[:CANDIDATES], failures, calls


@dataclass
class Hit:
    chunk_id: int
    score: float = 0.0
    text_rank: int | None = None  # 1-based rank in the full-text results
    text_score: float | None = None
    vector_rank: int | None = None
    similarity: float | None = None


@dataclass
class SearchResult:
    hits: list = field(default_factory=list)  # Hit, best first
    # Why vector search did not take part, for the search box ("" when it did).
    vector_note: str = ""


class LlmKnowledgeSearch(models.AbstractModel):
    _name = "llm.knowledge.search"
    _description = "LLM Knowledge Search"

    @api.model
    def _llm_search(self, query, sources=None, limit=DEFAULT_LIMIT,
                    token_budget=DEFAULT_TOKEN_BUDGET):
        """The chunks of ``sources`` (default: every source) best matching ``query`` that the
        current user may read, best first, at most ``limit`` and ``token_budget`` tokens."""
        query = (query or "").strip()
        domain = [("state", "in", ("ready", "indexing"))]
        if sources is not None:
            domain.append(("id", "in", sources.ids))
        sources = self._llm_readable_sources(domain)
        result = SearchResult()
        if not query or not sources:
            return result
        plans, result.vector_note = self._llm_vector_plans(sources, query)
        floor = float(self.env["ir.config_parameter"].sudo().get_param(
            MIN_SIMILARITY_PARAM, DEFAULT_MIN_SIMILARITY))
        text_ranking, (vector_hits, failures, calls) = beside(
            lambda: vector_ranking(plans, query, floor),
            lambda: self._llm_text_ranking(query, sources))
        for model, embeddings in calls:
            self.env["llm.usage"]._llm_count_embedding(model, [query], embeddings)
        # Full text still answers; the search box shows why vectors did not.
        result.vector_note = " ".join([result.vector_note] + [
            provider._error_message(error) for provider, error in failures]).strip()
        fused = {}
        for rank, (chunk_id, score) in enumerate(text_ranking, 1):
            fused[chunk_id] = Hit(chunk_id, 1 / (RRF_K + rank), rank, score)
        for rank, (chunk_id, similarity) in enumerate(vector_hits, 1):
            hit = fused.setdefault(chunk_id, Hit(chunk_id))
            hit.score += 1 / (RRF_K + rank)
            hit.vector_rank, hit.similarity = rank, similarity
        ranked = sorted(fused.values(), key=lambda hit: (-hit.score, hit.chunk_id))
        chunks = self.env["llm.knowledge.chunk"].sudo().browse([hit.chunk_id for hit in ranked])
        readable = set(chunks._llm_readable_by(self.env).ids)
        budget = token_budget
        for hit, chunk in zip(ranked, chunks):
            if chunk.id not in readable:
                continue
            if result.hits and chunk.token_count > budget:
                break
            result.hits.append(hit)
            budget -= chunk.token_count
            if len(result.hits) >= limit:
                break
        return result

    @api.model
    def _llm_readable_sources(self, domain):
        """The sources matching ``domain`` that the current user may search: the one check of
        a source, for the search and for each chunk given to a user
        (``llm.knowledge.chunk._llm_readable_by``). The user's own search: the record rules
        keep the sources of other companies and groups out. Active sources only, whatever
        the caller's context (the engine reads archived records): an archived source answers
        nothing."""
        return self.env["llm.knowledge.source"].search(domain + [("active", "=", True)])

    def _llm_text_ranking(self, query, sources):
        """``text_ranking`` over ``sources``, one query per language."""
        ranking = []
        for language in set(sources.mapped("language")):
            ids = sources.filtered(lambda s, lang=language: s.language == lang).ids
            ranking.extend(text_ranking(self.env.cr, language, query, ids))
        ranking.sort(key=lambda row: -row[1])
        return ranking[:CANDIDATES]

    def _llm_vector_plans(self, sources, query):
        """``(plans, note)``: what ``vector_ranking`` needs, read here with the cursor: per
        embedding model (and size) of ``sources`` whose budgets let it embed ``query``, the
        model, its provider, the provider's client, the model's API id and the sources' loaded
        vector indexes; ``note`` says why vector search is off, if it is (no model, a budget's
        refusal)."""
        with_model = sources.sudo().filtered("embedding_model_id")
        if not with_model:
            return [], self.env._("Vector search is off: no source has an embedding model. "
                                  "Choose one on the sources to also search by meaning.")
        groups = {}
        for source in with_model:
            groups.setdefault((source.embedding_model_id, source.embedding_dimensions),
                              []).append(source)
        plans, refusals = [], []
        for (model, dimensions), group in groups.items():
            refusal = self.env["llm.usage"]._llm_check_embedding(model, [query])
            if refusal:
                refusals.append(refusal)
                continue
            plans.append((model, model.provider_id, model.provider_id._get_provider(),
                          model.api_id, dimensions,
                          [ExactVectorIndex.load(self.env.cr, source.id, source.vector_version)
                           for source in group]))
        return plans, " ".join(refusals)


class LlmKnowledgeChunkAccess(models.Model):
    _inherit = "llm.knowledge.chunk"

    def _llm_readable_by(self, env):
        """The chunks the user of ``env`` may read, however they were asked for (a search, a
        chunk id stored on a question, a line of the search box): only while that user may
        search their source (its record rules: companies, groups; not archived); a record's
        chunks only while that user may read the record now and it is not archived (access
        rights and record rules, checked every time). A chunk of someone's memory
        (``user_id``) goes to that user only, whatever else they may read."""
        sources = set(env["llm.knowledge.search"]._llm_readable_sources(
            [("id", "in", self.source_id.ids)]).ids)
        chunks = self.filtered(lambda chunk: chunk.source_id.id in sources and (
            not chunk.user_id or chunk.user_id.id == env.uid))
        readable = chunks.filtered(lambda chunk: not chunk.res_model)
        by_model = {}
        for chunk in chunks - readable:
            by_model.setdefault(chunk.res_model, set()).add(chunk.res_id)
        allowed = set()
        for model_name, ids in by_model.items():
            if model_name not in env:
                continue
            # Archived records are out of use: left out, as the sources index none (a domain
            # naming ``active`` brings them back, as everywhere in Odoo).
            records = env[model_name].with_context(active_test=True)
            try:
                records.check_access("read")
            except AccessError:
                continue
            allowed.update((model_name, rid) for rid in records.search([("id", "in", list(ids))]).ids)
        return readable | (chunks - readable).filtered(
            lambda chunk: (chunk.res_model, chunk.res_id) in allowed)
