#!/usr/bin/python3
"""Knowledge search at scale (a benchmark, not a test).

Fills a scratch database on the harness's PostgreSQL cluster with N synthetic chunks (about
80 words of text each, random 768-dimension vectors) in the addon's chunk schema, then runs
queries through the addon's own search pieces: the full-text ranking (``text_ranking``) and
:class:`ExactVectorIndex`, run beside each other and fused as ``_llm_search`` does. Prints,
for each size:

- loading throughput: chunks/s to insert the rows and compute their ``tsvector`` (the SQL
  side of indexing; provider time, i.e. computing the embeddings, excluded), and chunking
  throughput of the Python chunker;
- the first query (vectors loaded into memory) and then p50/p95 latency of full-text alone,
  vector alone and hybrid (both beside each other, then fused) queries (query embedding and
  the per-user access check excluded), with the load average the machine had meanwhile;
- memory: the in-process vector matrix, the process's RSS growth, the table's size.

    /usr/bin/python3 benchmarks/bench_knowledge.py [--sizes 10000,100000] [--dims 768]
        [--queries 60] [--keep]

Needs the cluster the harness runs (``npm test`` or ``npm start`` started it) and Debian's
python3-numpy (with libopenblas0-pthread: numpy on Debian's reference BLAS is four times
slower) and python3-psycopg2. Drops its databases at the end, unless ``--keep``: then a
later ``--keep`` run reuses them and measures the queries only.
"""

import argparse
import os
import resource
import statistics
import sys
import time
import types
from pathlib import Path

import numpy
import psycopg2
from psycopg2.extras import execute_values

ADDON = Path(__file__).resolve().parents[1]
ODOO_SRC = Path(os.environ.get("ODOO_SRC", Path.home() / ".cache/llm_thread/odoo-18.0"))
sys.path.insert(0, str(ODOO_SRC))
import odoo.addons  # noqa: E402

# Load the search module without the addon's __init__ (which registers every model).
for name, path in (("odoo.addons.llm_thread", ADDON),
                   ("odoo.addons.llm_thread.models", ADDON / "models")):
    package = types.ModuleType(name)
    package.__path__ = [str(path)]
    sys.modules[name] = package

from odoo.addons.llm_thread.models import llm_knowledge_chunking as chunking  # noqa: E402
from odoo.addons.llm_thread.models.llm_knowledge_search import (  # noqa: E402
    CANDIDATES, RRF_K, ExactVectorIndex, beside, text_ranking)

SOCKET_DIR = os.environ.get("LLM_THREAD_PGHOST", "/var/tmp/llm_thread-postgres/run")
PORT = int(os.environ.get("LLM_THREAD_PG_PORT", "54329"))
DB = "llm_thread_bench_knowledge"
# A vocabulary of real size: the most frequent words are PostgreSQL's stop words, not
# indexed, hence left out; the rest follow Zipf's law.
VOCABULARY = [f"term{n}" for n in range(3000)]
WORDS = ("invoice refund delivery warehouse parcel customer supplier order payment tax "
         "warranty return product stock price discount contract employee holiday expense "
         "travel meeting project task deadline support ticket answer question policy rule "
         "company bank account transfer report budget sales quote lead opportunity").split()


def connect(dbname):
    return psycopg2.connect(host=SOCKET_DIR, port=PORT, user="odoo", dbname=dbname)


class Cursor(psycopg2.extensions.cursor):
    """Named like Odoo's cursor where ExactVectorIndex reads it."""

    @property
    def dbname(self):
        return self.connection.info.dbname


ZIPF = 1 / numpy.arange(50, 50 + len(WORDS) + len(VOCABULARY))
ZIPF /= ZIPF.sum()


def words(rng, count):
    return rng.choice(WORDS + VOCABULARY, count, p=ZIPF)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(cr, size, dims, rng):
    cr.execute("DROP TABLE IF EXISTS llm_knowledge_chunk, llm_knowledge_source")
    cr.execute("""
        CREATE TABLE llm_knowledge_source (id serial PRIMARY KEY, language varchar,
                                           vector_version int DEFAULT 1);
        CREATE TABLE llm_knowledge_chunk (id serial PRIMARY KEY, source_id int, heading varchar,
                                          content text, content_tsv tsvector, embedding bytea);
        CREATE INDEX ON llm_knowledge_chunk (source_id);
        CREATE INDEX ON llm_knowledge_chunk USING gin (content_tsv);
        INSERT INTO llm_knowledge_source (language) VALUES ('english');
    """)
    texts = [" ".join(words(rng, 80)) + "." for _ in range(size)]
    started = time.perf_counter()
    pieces = chunking.chunk_sections([chunking.Section(text, "Heading") for text in texts])
    chunk_seconds = time.perf_counter() - started
    vectors = rng.standard_normal((size, dims), dtype=numpy.float32)
    started = time.perf_counter()
    for start in range(0, size, 2000):
        execute_values(cr, """
            INSERT INTO llm_knowledge_chunk (source_id, heading, content, embedding) VALUES %s
        """, [(1, "Heading", pieces[i].text, vectors[i].astype("<f4").tobytes())
              for i in range(start, min(size, start + 2000))], page_size=500)
    cr.execute("""
        UPDATE llm_knowledge_chunk c
           SET content_tsv = setweight(to_tsvector(s.language::regconfig, coalesce(c.heading, '')), 'A')
                             || to_tsvector(s.language::regconfig, c.content)
          FROM llm_knowledge_source s WHERE s.id = c.source_id
    """)
    cr.connection.commit()
    load_seconds = time.perf_counter() - started
    cr.execute("ANALYZE llm_knowledge_chunk")
    return size / chunk_seconds, size / load_seconds


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(admin, size, dims, queries, rng, keep):
    """Measure one size in its own database; ``keep``: leave it for the next run, and reuse
    the one a previous run left (the build takes minutes at 100,000 chunks)."""
    name = f"{DB}_{size}_{dims}"
    with admin.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        reuse = keep and cr.fetchone()
        if not reuse:
            cr.execute(f"DROP DATABASE IF EXISTS {name}")
            cr.execute(f"CREATE DATABASE {name}")
    connection = connect(name)
    try:
        measure(connection, size, dims, queries, rng, reuse)
    finally:
        connection.close()
        if not keep:
            with admin.cursor() as cr:
                cr.execute(f"DROP DATABASE IF EXISTS {name}")


def measure(connection, size, dims, queries, rng, reuse):
    with connection, connection.cursor(cursor_factory=Cursor) as cr:
        chunk_rate, load_rate = (None, None) if reuse else build(cr, size, dims, rng)
        before = rss_mb()
        query_vectors = rng.standard_normal((queries, dims), dtype=numpy.float32)
        started = time.perf_counter()
        ExactVectorIndex.load(cr, 1, 1)
        first = time.perf_counter() - started

        timings = {"full-text": [], "vector": [], "hybrid": []}
        for number in range(queries):
            text = " ".join(words(rng, 3))
            vector = query_vectors[number]
            t0 = time.perf_counter()
            text_ranking(cr, "english", text, [1])
            t1 = time.perf_counter()
            ExactVectorIndex.load(cr, 1, 1).top_k(vector, CANDIDATES)
            t2 = time.perf_counter()
            # As _llm_search: the index loaded (cached), scored beside the full-text query.
            index = ExactVectorIndex.load(cr, 1, 1)
            text_hits, vector_hits = beside(lambda: index.top_k(vector, CANDIDATES),
                                            lambda: text_ranking(cr, "english", text, [1]))
            fused = {}
            for rank, (chunk_id, _score) in enumerate(text_hits, 1):
                fused[chunk_id] = fused.get(chunk_id, 0) + 1 / (RRF_K + rank)
            for rank, (chunk_id, _score) in enumerate(vector_hits, 1):
                fused[chunk_id] = fused.get(chunk_id, 0) + 1 / (RRF_K + rank)
            sorted(fused.items(), key=lambda item: -item[1])[:6]
            t3 = time.perf_counter()
            timings["full-text"].append(t1 - t0)
            timings["vector"].append(t2 - t1)
            timings["hybrid"].append(t3 - t2)
        cr.execute("SELECT pg_total_relation_size('llm_knowledge_chunk')")
        table_mb = cr.fetchone()[0] / 2**20
    print(f"\n{size:,} chunks x {dims} dimensions")
    if chunk_rate:
        print(f"  chunking (Python):            {chunk_rate:10,.0f} chunks/s")
        print(f"  rows + tsvector (PostgreSQL): {load_rate:10,.0f} chunks/s")
    else:
        print("  (database of a previous --keep run: indexing not measured)")
    print(f"  first query (loads vectors):  {first * 1000:10.0f} ms")
    for name, values in timings.items():
        print(f"  {name:<10} p50 {percentile(values, .5) * 1000:7.1f} ms   "
              f"p95 {percentile(values, .95) * 1000:7.1f} ms")
    print(f"  vector matrix in memory:      {ExactVectorIndex.memory_bytes() / 2**20:10.0f} MiB"
          f"  (process peak RSS +{rss_mb() - before:.0f} MiB)")
    print(f"  table with indexes:           {table_mb:10.0f} MiB")
    print("  load average (1, 5, 15 min):  " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    ExactVectorIndex._cache.clear()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dims", type=int, default=768)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's database, and reuse one kept before")
    args = parser.parse_args()
    admin = connect("postgres")
    admin.autocommit = True
    print(f"numpy {numpy.__version__}, {os.cpu_count()} CPUs")
    try:
        rng = numpy.random.default_rng(7)
        for size in map(int, args.sizes.split(",")):
            run(admin, size, args.dims, args.queries, rng, args.keep)
    finally:
        admin.close()


if __name__ == "__main__":
    main()
