"""Knowledge sources: indexing of each file kind and of records, background indexing
(checksums, resume, errors, re-index on change), hybrid search and access scoping, with the
fake provider's embeddings over real HTTP."""

import base64
import io
import logging
import re
import threading
import zipfile
from datetime import timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..engine.tokens import estimate_tokens
from ..models import llm_knowledge_search as search
from ..providers.http import HttpProvider
from .fake_embeddings import OPENAI_PATH
from .fake_provider import FakeProviderCase, error_body

RETURNS_MD = """# Returns

Customers may return any product within 30 days of delivery.

## Refunds

Refunds are paid back to the original card within seven days after the parcel arrives.

# Shipping

Parcels leave the warehouse every weekday at noon.
"""


def policies_source(env, fake):
    """A file source "Policies" (RETURNS_MD as policy.md) embedded by the fake provider."""
    provider = env["llm.provider"].create({
        "name": "Fake embeddings", "api_format": "openai", "base_url": fake.base_url("openai")})
    embedder = env["llm.model"].create({
        "name": "Embed", "api_id": "embed-model", "provider_id": provider.id,
        "use": "embedding"})
    policy = env["ir.attachment"].create({
        "name": "policy.md", "mimetype": "text/markdown",
        "datas": base64.b64encode(RETURNS_MD.encode())})
    return env["llm.knowledge.source"].create({
        "name": "Policies", "embedding_model_id": embedder.id,
        "attachment_ids": [Command.set(policy.ids)]})


class KnowledgeCase(FakeProviderCase, TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["llm.provider"].create({
            "name": "Fake", "api_format": "openai", "base_url": cls.fake.base_url("openai"),
            "company_id": False})
        cls.embedder = cls.env["llm.model"].create({
            "name": "Embed", "api_id": "embed-model", "provider_id": cls.provider.id,
            "use": "embedding"})

    def attachment(self, name, data, mimetype):
        if isinstance(data, str):
            data = data.encode()
        return self.env["ir.attachment"].create({
            "name": name, "datas": base64.b64encode(data), "mimetype": mimetype})

    def file_source(self, name, *attachments, **values):
        return self.env["llm.knowledge.source"].create({
            "name": name, "kind": "file", "embedding_model_id": self.embedder.id,
            "attachment_ids": [Command.set([a.id for a in attachments])], **values})

    def index(self, **kwargs):
        self.env["llm.knowledge.source"]._cron_index(**kwargs)

    def embedded_texts(self):
        return [text for request in self.fake.requests if request.path == OPENAI_PATH
                for text in request.json["input"]]

    def search(self, query, user=None, **kwargs):
        env = self.env(user=user) if user else self.env
        result = env["llm.knowledge.search"]._llm_search(query, **kwargs)
        chunks = self.env["llm.knowledge.chunk"].browse([hit.chunk_id for hit in result.hits])
        return result, chunks


@tagged("post_install", "-at_install")
class TestKnowledgeFiles(KnowledgeCase):

    def test_markdown_sections_and_vectors(self):
        source = self.file_source("Policies", self.attachment("policy.md", RETURNS_MD,
                                                              "text/markdown"))
        self.assertEqual(source.state, "queued")
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        self.assertEqual(source.chunk_ids.mapped("heading"),
                         ["Returns", "Returns > Refunds", "Shipping"])
        self.assertTrue(all(source.chunk_ids.mapped("has_embedding")))
        self.assertEqual(source.progress_done, 3)
        result, chunks = self.search("How long until refunds are paid back?")
        self.assertEqual(chunks[0].heading, "Returns > Refunds")
        self.assertTrue(result.hits[0].text_rank and result.hits[0].vector_rank)
        self.assertEqual(chunks[0]._llm_citation()["url"],
                         f"/web/content/{chunks[0].attachment_id.id}")

    def test_text_saved_as_utf16_or_holding_nul_characters(self):
        """Notepad's "Unicode" is UTF-16 with a byte order mark; a NUL character, which
        PostgreSQL's text refuses, failed the whole source with a database error."""
        utf16 = "# Returns\n\nThirty days, no question asked.\n".encode("utf-16")
        nul = b"# Shipping\n\nFree from 50\x00 EUR.\n"
        source = self.file_source("Notes", self.attachment("returns.txt", utf16, "text/plain"),
                                  self.attachment("shipping.md", nul, "text/markdown"))
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        self.assertEqual(sorted(source.chunk_ids.mapped("content")),
                         ["Free from 50 EUR.", "Thirty days, no question asked."])

    def test_html(self):
        page = ("<html><body><h1>Warranty</h1><p>Two years on every <b>bicycle</b>.</p>"
                "<script>tracking()</script><h2>Exclusions</h2><ul><li>Punctures</li></ul>"
                "</body></html>")
        source = self.file_source("Site", self.attachment("warranty.html", page, "text/html"))
        self.index()
        self.assertEqual([(c.heading, c.content) for c in source.chunk_ids],
                         [("Warranty", "Two years on every bicycle."),
                          ("Warranty > Exclusions", "Punctures")])

    def test_pdf_pages(self):
        from reportlab.pdfgen import canvas
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer)
        pdf.drawString(72, 720, "Opening hours are nine to five.")
        pdf.showPage()
        pdf.drawString(72, 720, "The helpdesk answers within four hours.")
        pdf.showPage()
        pdf.save()
        source = self.file_source("Handbook", self.attachment(
            "handbook.pdf", buffer.getvalue(), "application/pdf"))
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        chunk = source.chunk_ids.filtered(lambda c: "helpdesk" in c.content)
        self.assertEqual(chunk.page, 2)
        self.assertEqual(chunk._llm_citation()["url"],
                         f"/web/content/{chunk.attachment_id.id}#page=2")
        _result, found = self.search("helpdesk answer time")
        self.assertEqual(found[0], chunk)

    def test_office_documents(self):
        def zipped(files):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for name, text in files.items():
                    archive.writestr(name, text)
            return buffer.getvalue()

        docx = zipped({"word/document.xml": (
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Expense reports are due monthly.</w:t></w:r></w:p>"
            "</w:body></w:document>")})
        xlsx = zipped({"xl/sharedStrings.xml": (
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            "<si><t>Mileage rate per kilometre</t></si></sst>")})
        odt = zipped({"content.xml": (
            '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
            "<text:p>Meal allowance is capped.</text:p></office:text></office:body>"
            "</office:document-content>")})
        source = self.file_source("Expenses", self.attachment(
            "expenses.docx", docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            self.attachment("rates.xlsx", xlsx,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            self.attachment("meals.odt", odt, "application/vnd.oasis.opendocument.text"))
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        texts = " ".join(source.chunk_ids.mapped("content"))
        for words in ("Expense reports are due monthly.", "Mileage rate per kilometre",
                      "Meal allowance is capped."):
            self.assertIn(words, texts)

    def test_unreadable_file_is_an_error_with_its_reason(self):
        broken = self.file_source("Scan", self.attachment("scan.pdf", b"%PDF-1.4 garbage",
                                                          "application/pdf"))
        fine = self.file_source("Fine", self.attachment("fine.txt", "Plain words.",
                                                        "text/plain"))
        self.index()
        self.assertEqual(broken.state, "error")
        self.assertIn("No text could be read from scan.pdf", broken.index_error)
        self.assertEqual(fine.state, "ready")

    def test_unchanged_text_is_not_embedded_again(self):
        source = self.file_source("Policies", self.attachment("policy.md", RETURNS_MD,
                                                              "text/markdown"))
        self.index()
        self.assertEqual(len(self.embedded_texts()), 3)
        self.fake.reset()
        source.action_index()
        self.index()
        self.assertEqual(self.embedded_texts(), [])
        self.assertEqual(source.state, "ready")
        # One section changed: only its chunk is embedded again.
        source.attachment_ids.raw = RETURNS_MD.replace("noon", "ten").encode()
        source.action_index()
        self.index()
        self.assertEqual(len(self.embedded_texts()), 1)
        self.assertIn("ten", self.embedded_texts()[0])
        self.assertEqual(len(source.chunk_ids), 3)

    def test_new_embedding_model_embeds_everything_again(self):
        source = self.file_source("Policies", self.attachment("policy.md", RETURNS_MD,
                                                              "text/markdown"))
        self.index()
        self.fake.reset()
        source.embedding_dimensions = 16
        self.assertEqual(source.state, "queued")
        self.index()
        self.assertEqual(len(self.embedded_texts()), 3)
        self.assertEqual(self.fake.requests[-1].json["dimensions"], 16)

    def test_crash_mid_indexing_resumes(self):
        text = "\n\n".join(f"# Section {n}\n\nFact number {n} about widgets." for n in range(100))
        source = self.file_source("Big", self.attachment("big.md", text, "text/markdown"))
        self.index(max_batches=1)  # the process stops after one committed batch
        self.assertEqual(source.state, "indexing")
        self.assertEqual(source.status, "Indexing 64/100")
        self.fake.reset()
        self.index()
        self.assertEqual(source.state, "ready")
        self.assertEqual(len(self.embedded_texts()), 36)
        self.assertTrue(all(source.chunk_ids.mapped("has_embedding")))

    def test_provider_failure_then_retry(self):
        self.fake.reply("POST", OPENAI_PATH, 401, json_body=error_body(
            "openai", 401, "Incorrect API key provided.", "invalid_api_key"))
        failing = self.file_source("A", self.attachment("a.txt", "Alpha text.", "text/plain"))
        self.index()
        self.assertEqual(failing.state, "error")
        self.assertIn("rejected the API key", failing.index_error)
        self.assertEqual(failing.status, f"Error: {failing.index_error}")
        failing.action_index()
        self.index()
        self.assertEqual(failing.state, "ready")

    def test_full_text_only_without_embedding_model(self):
        source = self.file_source("Plain", self.attachment("policy.md", RETURNS_MD,
                                                           "text/markdown"),
                                  embedding_model_id=False)
        self.assertIn("vector search is off", source.embedding_note)
        self.index()
        self.assertEqual(source.state, "ready")
        self.assertEqual(self.embedded_texts(), [])
        result, chunks = self.search("refunds")
        self.assertEqual(chunks[0].heading, "Returns > Refunds")
        self.assertIn("Vector search is off", result.vector_note)

    def test_provider_without_embeddings_is_refused(self):
        claude = self.env["llm.model"].create({
            "name": "Claude", "api_id": "claude-sonnet-4-5", "use": "embedding",
            "provider_id": self.env["llm.provider"].create({
                "name": "Claude", "api_format": "anthropic",
                "base_url": "https://api.anthropic.com"}).id})
        with self.assertRaisesRegex(ValidationError, "Claude has no embeddings API"):
            self.file_source("Notes", self.attachment("n.txt", "Words.", "text/plain"),
                             embedding_model_id=claude.id)

    def test_language_stemming(self):
        source = self.file_source("Politique", self.attachment(
            "politique.md", "# Retours\n\nLes clients retournent les produits en magasin.",
            "text/markdown"), language="french", embedding_model_id=False)
        self.index()
        _result, chunks = self.search("retourner un produit")
        self.assertEqual(chunks, source.chunk_ids)

    def test_hybrid_ranking_fuses_both(self):
        source = self.file_source("Mixed", self.attachment("mixed.md", (
            "# Bikes\n\nOur bicycles have a two year warranty.\n\n"
            "# Lamps\n\nLamps ship with spare bulbs.\n\n"
            "# Racks\n\nThe bicycles racks hold two bicycles."), "text/markdown"))
        self.index()
        result, chunks = self.search("bicycles warranty")
        self.assertEqual(chunks[0].heading, "Bikes")
        top = result.hits[0]
        self.assertEqual((top.text_rank, top.vector_rank), (1, 1))
        self.assertGreater(top.score, result.hits[1].score)
        self.assertNotIn("Lamps", chunks.mapped("heading")[:2])
        self.assertEqual(len(source.chunk_ids), 3)

    def test_token_budget(self):
        self.file_source("Policies", self.attachment("policy.md", RETURNS_MD, "text/markdown"))
        self.index()
        result, chunks = self.search("refunds returns shipping", token_budget=30)
        self.assertEqual(len(chunks), 1)


@tagged("post_install", "-at_install")
class TestKnowledgeUsage(KnowledgeCase):
    """Embedding calls are paid calls: checked against the budgets before, a usage line
    after, told apart from the answers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.embedder.input_price = 2.0
        cls.user = new_test_user(cls.env, login="knowledge_usage_user",
                                 groups="base.group_user")

    def lines(self):
        return self.env["llm.usage"].search([("kind", "=", "embedding"),
                                             ("model_id", "=", self.embedder.id)], order="id")

    def provider_tokens(self, request):
        return sum(len(re.findall(r"\w+", text)) for text in request.json["input"])

    def test_indexing_and_search_write_usage_lines(self):
        source = self.file_source("Policies", self.attachment("policy.md", RETURNS_MD,
                                                              "text/markdown"))
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        [indexing] = self.fake.requests
        tokens = self.provider_tokens(indexing)
        self.assertRecordValues(self.lines(), [{
            "kind": "embedding", "user_id": self.env.uid, "company_id": self.env.company.id,
            "provider_id": self.provider.id, "model_id": self.embedder.id, "thread_id": False,
            "input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens,
            "estimated": False}])
        self.assertAlmostEqual(self.lines().cost, tokens * 2.0 / 1e6)
        # A question's search, by its user: a line of theirs, estimated when the provider
        # gives no count.
        self.fake.reply("POST", OPENAI_PATH, json_body={
            "object": "list", "model": "embed-model",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5] * 64}]})
        self.search("How long until refunds are paid back?", user=self.user)
        line = self.lines()[-1]
        self.assertRecordValues(line, [{"user_id": self.user.id, "estimated": True,
                                        "output_tokens": 0}])
        self.assertEqual(line.input_tokens,
                         estimate_tokens("How long until refunds are paid back?"))
        self.assertEqual(self.env["llm.usage"].search_count([("kind", "=", "chat")]), 0)

    def test_a_hard_budget_refuses_embeddings_before_any_request(self):
        self.env["llm.budget"].create({"name": "Company tokens", "scope": "company",
                                       "unit": "tokens", "limit": 20, "hard": True})
        source = self.file_source("Policies", self.attachment("policy.md", RETURNS_MD,
                                                              "text/markdown"))
        with self.assertNoLogs("odoo.addons.llm_thread", "WARNING"):
            self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("Embedding this text (to index a knowledge source, or to search one by "
                      "meaning) would exceed the monthly budget \"Company tokens\": 0 tokens "
                      "of 20 tokens are used", source.index_error)
        self.assertIn("can raise the budget in LLM > Configuration > Budgets",
                      source.index_error)
        self.assertFalse(self.fake.requests, "nothing sent to the provider")
        self.assertFalse(self.lines())

    def test_a_spent_hard_budget_leaves_search_to_full_text(self):
        self.file_source("Policies", self.attachment("policy.md", RETURNS_MD, "text/markdown"))
        self.index()
        [indexing] = self.lines()
        self.env["llm.budget"].create({"name": "Company tokens", "scope": "company",
                                       "unit": "tokens", "limit": indexing.total_tokens,
                                       "hard": True})
        result, chunks = self.search("refunds", user=self.user)
        self.assertEqual(chunks[:1].heading, "Returns > Refunds")
        self.assertIn("The monthly budget \"Company tokens\" is spent", result.vector_note)
        self.assertEqual(len(self.fake.requests), 1, "the question was not embedded")
        self.assertEqual(self.lines(), indexing)


# Bounds a wait for what takes milliseconds: it only stops a broken test from hanging.
WAIT = 30


@tagged("post_install", "-at_install")
class TestKnowledgeConcurrentEdits(FakeProviderCase, TransactionCase):
    """The indexing cron and a user writing the same source at the same time, each in a
    transaction of its own as in production: the source is committed, the user saves in a
    cursor of their own, and the cron runs in a thread (indexing commits its steps outside
    the test thread)."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.source_id = policies_source(env, self.fake).id
            last_trigger = env["ir.cron.trigger"].search([], order="id desc", limit=1).id
        self.addCleanup(self.drop_committed, last_trigger)
        self.cron_cr = self.registry.cursor()
        self.addCleanup(self.cron_cr.close)

    def drop_committed(self, last_trigger):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            source = env["llm.knowledge.source"].browse(self.source_id)
            provider = source.embedding_model_id.provider_id
            env["llm.usage"].search([("provider_id", "=", provider.id)]).unlink()
            source.unlink()  # with its chunks and its files
            provider.unlink()  # with its model
            env["ir.cron.trigger"].search([("id", ">", last_trigger)]).unlink()

    def run_cron(self, **kwargs):
        """One run of the cron on the source, in a thread; waited for by ``join``."""
        source = api.Environment(self.cron_cr, SUPERUSER_ID, {})[
            "llm.knowledge.source"].browse(self.source_id)
        thread = threading.Thread(target=source._llm_index, kwargs=kwargs)
        thread.start()
        return thread

    def join(self, thread):
        thread.join(WAIT)
        self.assertFalse(thread.is_alive(), "the cron is stuck")

    def user_save(self, **values):
        """What saving the form does: the admin's write, committed."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.env.ref("base.user_admin").id, {})
            source = env["llm.knowledge.source"].browse(self.source_id)
            if "attachment_ids" in values:
                values["attachment_ids"] = [Command.set(env["ir.attachment"].create(
                    {"name": name, "mimetype": "text/markdown",
                     "datas": base64.b64encode(text.encode())}).ids)
                    for name, text in values["attachment_ids"]]
            source.write(values)

    def committed(self):
        """The source as committed: its values and its chunks' contents."""
        with self.registry.cursor() as cr:
            source = api.Environment(cr, SUPERUSER_ID, {})["llm.knowledge.source"].browse(
                self.source_id)
            return (source.read(["name", "state", "index_error"])[0],
                    source.chunk_ids.mapped("content"))

    def committed_usage(self):
        """The embedding calls' usage lines committed for the source's model."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            model = env["llm.knowledge.source"].browse(self.source_id).embedding_model_id
            return env["llm.usage"].search_count([("model_id", "=", model.id),
                                                  ("kind", "=", "embedding")])

    def pause_after(self, owner, name, call):
        """Pause the cron's thread right after its ``call``-th call of ``owner.name``, until
        the test sets the returned ``go``; ``reached`` is set once it is paused there."""
        original = getattr(owner, name)
        calls, reached, go = [], threading.Event(), threading.Event()

        def paused(*args, **kwargs):
            result = original(*args, **kwargs)
            calls.append(args)
            if len(calls) == call:
                reached.set()
                go.wait(WAIT)
            return result

        patcher = patch.object(owner, name, paused)
        patcher.start()
        self.addCleanup(patcher.stop)
        return reached, go

    def test_save_while_the_cron_embeds(self):
        """The user saves while the provider computes the cron's batch: the save does not
        wait for the cron (it holds no lock meanwhile) and stands; the batch, computed from
        the source as it was, is dropped quietly, and the next run indexes the new file. (The
        cron's write used to fail on a serialization failure, logged as an ERROR, and put the
        source in error over the save.)"""
        answered, go = self.pause_after(HttpProvider, "embed", 1)
        with self.assertLogs("odoo", logging.INFO) as logs:
            cron = self.run_cron()
            self.assertTrue(answered.wait(WAIT))
            self.user_save(name="Policies 2025", attachment_ids=[
                ("warranty.md", "# Warranty\n\nTwo years on every bicycle.")])
            go.set()
            self.join(cron)
        self.assertFalse([record.getMessage() for record in logs.records
                          if record.levelno >= logging.ERROR or record.exc_info])
        self.assertIn("was saved by a user while it was indexed", logs.output[-1])
        values, _chunks = self.committed()
        self.assertEqual((values["name"], values["state"], values["index_error"]),
                         ("Policies 2025", "queued", False))
        self.assertEqual(self.committed_usage(), 1, "the dropped batch's call is counted")
        self.join(self.run_cron())
        values, chunks = self.committed()
        self.assertEqual(values["state"], "ready", values["index_error"])
        self.assertEqual(chunks, ["Two years on every bicycle."])
        self.assertEqual(self.committed_usage(), 2)

    def test_save_between_two_batches(self):
        """A new file saved between two batches of a run is indexed by that run. (The run used
        to go on with the old file's chunks, then mark the source ready over the save.)"""
        self.user_save(attachment_ids=[("big.md", "\n\n".join(
            f"# Section {n}\n\nFact number {n} about widgets." for n in range(100)))])
        # _llm_commit's calls: the chunks cut, then each batch embedded.
        committed, go = self.pause_after(type(self.env["llm.knowledge.source"]),
                                         "_llm_commit", 2)
        cron = self.run_cron()
        self.assertTrue(committed.wait(WAIT))
        self.user_save(attachment_ids=[
            ("warranty.md", "# Warranty\n\nTwo years on every bicycle.")])
        go.set()
        self.join(cron)
        values, chunks = self.committed()
        self.assertEqual(values["state"], "ready", values["index_error"])
        self.assertEqual(chunks, ["Two years on every bicycle."])


@tagged("post_install", "-at_install")
class TestKnowledgeTextRanking(KnowledgeCase):

    def test_a_common_word_does_not_hide_the_chunk_with_the_rare_one(self):
        """Past MATCH_CAP chunks holding a common word, the one chunk with the rare word of
        the question is still found: common words (PostgreSQL's statistics) are left out of
        the any-word query, instead of filling its capped matches."""
        self.patch(search, "COMMON_MIN_CHUNKS", 0)  # the threshold of large corpora
        self.patch(search, "_common_words", {})
        source = self.env["llm.knowledge.source"].create({
            "name": "Logistics", "kind": "url", "urls": "https://example.com/logistics"})
        source.sudo().write({"state": "ready"})
        filler = [{"source_id": source.id, "sequence": n, "checksum": str(n),
                   "content": f"Parcel number {n} left the depot."}
                  for n in range(search.MATCH_CAP + 500)]
        rare = {"source_id": source.id, "sequence": len(filler), "checksum": "rare",
                "content": "The zebra crossing by the gate is repainted."}
        chunks = self.env["llm.knowledge.chunk"].create(filler + [rare])
        chunks._llm_update_tsv()
        self.env.cr.execute("ANALYZE llm_knowledge_chunk")
        self.assertIn("parcel", search.common_words(self.env.cr))
        _result, found = self.search("Which parcel has a zebra?")
        self.assertEqual(found[:1].content, rare["content"])


@tagged("post_install", "-at_install")
class TestKnowledgeAccess(KnowledgeCase):
    """User A and user B, in two companies: B never gets what only A may read, whether the
    chunk comes from a record, a file source of A's company or a group's file source."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        cls.user_a = new_test_user(cls.env, "know_a", groups="base.group_user",
                                   company_id=cls.company_a.id)
        cls.user_b = new_test_user(cls.env, "know_b", groups="base.group_user",
                                   company_id=cls.company_b.id)
        cls.partner_a = cls.env["res.partner"].create({
            "name": "Zebra Supplies", "company_id": cls.company_a.id,
            "comment": "<p>Zebra Supplies ships our secret gearbox oil.</p>"})
        cls.partner_b = cls.env["res.partner"].create({
            "name": "Yak Trading", "company_id": cls.company_b.id,
            "comment": "<p>Yak Trading sells gearbox oil too.</p>"})

    def record_source(self, model, field_names, domain="[]", **values):
        ir_model = self.env["ir.model"]._get(model)
        return self.env["llm.knowledge.source"].create({
            "name": model, "kind": "record", "model_id": ir_model.id, "domain": domain,
            "embedding_model_id": self.embedder.id,
            "field_ids": [Command.set(ir_model.field_id.filtered(
                lambda f: f.name in field_names).ids)], **values})

    def test_record_source(self):
        source = self.record_source("res.partner", ["name", "comment"],
                                    f"[('id', 'in', {[self.partner_a.id, self.partner_b.id]})]")
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        chunk = source.chunk_ids.filtered(lambda c: c.res_id == self.partner_a.id)
        self.assertEqual(chunk.heading, "Zebra Supplies")
        self.assertEqual(chunk.content, "Notes: Zebra Supplies ships our secret gearbox oil."
                                        "\n\nName: Zebra Supplies")
        self.assertEqual(chunk._llm_citation()["url"], f"/odoo/res.partner/{self.partner_a.id}")

    def test_a_domain_that_cannot_be_applied_is_refused_in_words(self):
        for domain, reason in (("[('foo', '=', 1)]", "is not valid"),
                               ("not python", "is not valid"),
                               ("[('is_company', '=', True)", "is not valid"),
                               # Odoo would drop the condition and index every contact.
                               ("[('contact_address', '=', 'x')]", "filters on Complete"),
                               ("[('parent_id.contact_address', '=', 'x')]", "filters on Complete"),
                               ("[('child_ids', 'any', [('contact_address', '=', 'x')])]",
                                "filters on Complete")):
            with self.subTest(domain=domain), self.assertRaises(ValidationError) as caught:
                self.record_source("res.partner", ["name"], domain, name="Contacts")
            self.assertIn(f"The domain of Contacts {reason}", caught.exception.args[0])
        # A related field that is not stored is searched through its relation: accepted.
        self.record_source("res.partner", ["name"], "[('country_code', '=', 'BE')]")

    def age(self, source):
        """As if ``source`` was indexed a minute ago and its records written before that (a
        test runs in one transaction, where every write_date is the same instant)."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_partner SET write_date = write_date - interval '2 min' "
                            "WHERE id IN %s", [(self.partner_a.id, self.partner_b.id)])
        self.env.invalidate_all()
        source.indexed_at -= timedelta(minutes=1)

    def test_changed_records_are_indexed_again(self):
        source = self.record_source("res.partner", ["name", "comment"],
                                    "[('name', 'in', ('Zebra Supplies', 'Yak Trading'))]")
        self.index()
        self.assertEqual(len(source.chunk_ids), 2)
        self.age(source)
        self.fake.reset()
        self.index()  # nothing changed: the source is not even read again
        self.assertEqual(source.state, "ready")
        self.assertEqual(self.embedded_texts(), [])
        self.partner_b.comment = "<p>Yak Trading now sells bicycle chains.</p>"
        self.index()
        self.assertEqual(len(self.embedded_texts()), 1)
        self.assertIn("bicycle chains", self.embedded_texts()[0])
        self.assertEqual(source.state, "ready")
        self.age(source)
        self.partner_a.name = "Zebra Logistics"  # leaves the domain
        self.index()
        self.assertEqual(source.chunk_ids.mapped("res_id"), [self.partner_b.id])

    def test_record_chunks_follow_record_rules(self):
        self.record_source("res.partner", ["name", "comment"],
                           f"[('id', 'in', {[self.partner_a.id, self.partner_b.id]})]")
        self.index()
        _result, for_a = self.search("gearbox oil", self.user_a)
        _result, for_b = self.search("gearbox oil", self.user_b)
        self.assertEqual(for_a.mapped("res_id"), [self.partner_a.id])
        self.assertEqual(for_b.mapped("res_id"), [self.partner_b.id])
        # Checked at query time: A loses the record, A loses its chunk without re-indexing.
        self.partner_a.company_id = self.company_b
        _result, for_a = self.search("gearbox oil", self.user_a)
        self.assertFalse(for_a)

    def test_archived_records_and_sources_are_left_out(self):
        """As everywhere in Odoo: an archived record is neither indexed nor served (at query
        time too, before the source is indexed again), and an archived source answers nothing,
        whatever the caller's context (the engine reads archived records)."""
        source = self.record_source("res.partner", ["name", "comment"],
                                    f"[('id', 'in', {[self.partner_a.id, self.partner_b.id]})]")
        self.index()
        self.partner_b.active = False
        _result, found = self.search("gearbox oil")
        self.assertEqual(found.mapped("res_id"), [self.partner_a.id])
        self.age(source)
        self.index()
        self.assertEqual(source.chunk_ids.mapped("res_id"), [self.partner_a.id])
        thread = self.env["llm.thread"].create({"name": "Chosen",
                                                "knowledge_source_ids": [(6, 0, source.ids)]})
        source.active = False
        engine_view = thread.with_context(active_test=False)
        self.assertFalse(engine_view._llm_knowledge_sources())
        self.assertFalse(self.env["llm.knowledge.search"].with_context(active_test=False)
                         ._llm_search("gearbox oil", sources=source).hits)

    def test_own_records_only(self):
        # Conversations are readable by their owner only (record rule llm.thread own).
        self.env["llm.thread"].with_user(self.user_a).create({"name": "Plans for the okapi"})
        self.record_source("llm.thread", ["name"])
        self.index()
        self.assertEqual(len(self.search("okapi", self.user_a)[1]), 1)
        self.assertFalse(self.search("okapi", self.user_b)[1])

    def test_file_sources_follow_companies_and_groups(self):
        self.file_source("Company A only", self.attachment(
            "a.md", "Our walrus policy for company A.", "text/markdown"),
            company_ids=[Command.set(self.company_a.ids)])
        group = self.env["res.groups"].create({"name": "Walrus keepers"})
        self.file_source("Keepers only", self.attachment(
            "k.md", "The walrus feeding guide.", "text/markdown"),
            group_ids=[Command.set(group.ids)])
        self.index()
        self.assertEqual(len(self.search("walrus", self.user_a)[1]), 1)
        self.assertFalse(self.search("walrus", self.user_b)[1])
        self.user_b.groups_id = [Command.link(group.id)]
        self.assertEqual(self.search("walrus", self.user_b)[1].heading, "k.md")

    def test_every_passage_follows_its_source(self):
        """The gate of every passage given to a user, however it was asked for (a search, a
        chunk id stored on a question, a line of the search box): its source's companies,
        groups and archiving, as the source's record rules say."""
        a_only = self.file_source("Company A only", self.attachment(
            "a.md", "Our walrus policy for company A.", "text/markdown"),
            company_ids=[Command.set(self.company_a.ids)])
        group = self.env["res.groups"].create({"name": "Walrus keepers"})
        keepers = self.file_source("Keepers only", self.attachment(
            "k.md", "The walrus feeding guide.", "text/markdown"),
            group_ids=[Command.set(group.ids)])
        self.index()
        chunks = (a_only | keepers).chunk_ids
        self.assertEqual(len(chunks), 2)

        def readable(user):
            return chunks._llm_readable_by(self.env(user=user))

        self.assertEqual(readable(self.user_a), a_only.chunk_ids)
        self.assertFalse(readable(self.user_b))
        self.user_b.groups_id = [Command.link(group.id)]
        self.assertEqual(readable(self.user_b), keepers.chunk_ids)
        keepers.active = False
        self.assertFalse(readable(self.user_b))

    def test_a_source_takes_only_files_its_manager_may_read_and_steals_none(self):
        """An LLM manager is not a Settings administrator: a file they may not read (one of a
        private discussion) is refused; one of a record they may read is copied, so that the
        record keeps its file and its own access; their own upload becomes the source's."""
        manager = new_test_user(self.env, "know_mgr", company_id=self.company_a.id,
                                groups="base.group_user,llm_thread.group_llm_manager")
        chat = self.env["discuss.channel"].with_user(self.user_a).channel_get(
            self.user_b.partner_id.ids)
        private = self.env["ir.attachment"].create({
            "name": "board.txt", "raw": b"Layoffs planned in March.", "mimetype": "text/plain",
            "res_model": "discuss.channel", "res_id": chat.id})
        Source = self.env["llm.knowledge.source"].with_user(manager)
        with self.assertRaises(AccessError) as caught:
            Source.create({"name": "Steal", "attachment_ids": [Command.set(private.ids)]})
        self.assertIn(f"You may not use the file #{private.id}", caught.exception.args[0])
        self.assertNotIn("board.txt", caught.exception.args[0], "its name is not told")
        own = Source.create({"name": "Mine", "attachment_ids": [
            Command.create({"name": "own.md", "raw": b"# Walrus", "mimetype": "text/markdown"})]})
        with self.assertRaises(AccessError):
            own.write({"attachment_ids": [Command.link(private.id)]})
        self.assertEqual((private.res_model, private.res_id), ("discuss.channel", chat.id))
        self.assertEqual((own.attachment_ids.res_model, own.attachment_ids.res_id),
                         (own._name, own.id))
        contract = self.env["ir.attachment"].create({
            "name": "contract.md", "raw": b"# Zebra contract", "mimetype": "text/markdown",
            "res_model": "res.partner", "res_id": self.partner_a.id})
        own.write({"attachment_ids": [Command.link(contract.id)]})
        copy = own.attachment_ids - own.attachment_ids.filtered(lambda a: a.name == "own.md")
        self.assertNotEqual(copy, contract)
        self.assertEqual((copy.name, copy.raw, copy.res_model, copy.res_id),
                         ("contract.md", b"# Zebra contract", own._name, own.id))
        self.assertEqual((contract.res_model, contract.res_id), ("res.partner", self.partner_a.id))

    def test_search_box_lines_show_only_readable_passages(self):
        """The search box's result lines are filled by its search alone: a manager can neither
        make one for any chunk id nor read through one a passage they may not read."""
        manager = new_test_user(self.env, "know_mgr", company_id=self.company_a.id,
                                groups="base.group_user,llm_thread.group_llm_manager")
        company_b = self.file_source("Company B only", self.attachment(
            "b.md", "Company B merger plan: codename BLUEBIRD.", "text/markdown"),
            company_ids=[Command.set(self.company_b.ids)])
        self.index()
        secret = company_b.chunk_ids
        self.assertTrue(secret)
        box = self.env["llm.knowledge.search.wizard"].with_user(manager).create(
            {"query": "BLUEBIRD merger"})
        Result = self.env["llm.knowledge.search.result"].with_user(manager)
        with self.assertRaises(AccessError):
            Result.create({"wizard_id": box.id, "chunk_id": secret.id})
        box.action_search()
        self.assertFalse(box.result_ids)
        # A line the search made for a chunk the user may no longer read shows nothing of it.
        line = Result.sudo().create({"wizard_id": box.id, "chunk_id": secret.id})
        with self.assertRaises(AccessError):
            line.sudo(False).write({"rank": 2})
        self.assertEqual(line.sudo(False).read(["source_name", "heading", "content"])[0],
                         {"id": line.id, "source_name": False, "heading": False,
                          "content": False})
