"""Contract tests of the provider layer's embeddings, against the fake provider over HTTP:
the request each format sends, batching, the answers read back and the faults mapped to the
same errors as chat."""

import dataclasses

from odoo.tests import TransactionCase, tagged

from ..providers import ProviderConfig, ProviderError, RetryPolicy, get_provider
from .fake_embeddings import fake_vector
from .fake_provider import FakeProviderCase, error_body

TEXTS = ["Invoices are due in 30 days.", "The warehouse opens at 8.", "Refunds take a week."]


class EmbeddingsContract(FakeProviderCase):
    allow_inherited_tests_method = True
    fmt = ""
    api_format = ""
    path = ""
    fake_api_key = "sk-test"

    def setUp(self):
        super().setUp()
        self.sleeps = []

    def provider(self, **overrides):
        config = ProviderConfig(
            name="Fake", api_format=self.api_format or self.fmt,
            base_url=self.fake.base_url(self.fmt), api_key="sk-test",
            azure_api_version="2024-10-21" if self.fmt == "azure" else "",
            timeout=10.0, retry=RetryPolicy(sleep=self.sleeps.append))
        return get_provider(dataclasses.replace(config, **overrides))

    def fail_embeddings(self, status, message="", code=None, times=1):
        fmt = "openai" if self.fmt == "azure" else self.fmt
        self.fake.reply("POST", self.path, status,
                        json_body=error_body(fmt, status, message or f"fake error {status}",
                                             code), times=times)

    def assertFails(self, kind, *fragments, texts=TEXTS, **overrides):
        with self.assertRaises(ProviderError) as caught:
            self.provider(**overrides).embed("embed-model", texts)
        self.assertEqual(caught.exception.kind, kind, caught.exception.message)
        for fragment in fragments:
            # The provider's own words are kept apart from the one-sentence message.
            self.assertIn(fragment, f"{caught.exception.message} {caught.exception.detail}")
        return caught.exception

    def test_vectors_in_input_order(self):
        result = self.provider().embed("embed-model", TEXTS)
        self.assertEqual(result.vectors, [fake_vector(text) for text in TEXTS])
        self.assertEqual(result.input_tokens, 15)
        (request,) = self.fake.requests
        self.assertEqual((request.method, request.path), ("POST", self.path))
        self.assertEqual(request.json["input"], TEXTS)

    def test_batches(self):
        texts = [f"text number {n}" for n in range(150)]
        provider = self.provider()
        result = provider.embed("embed-model", texts)
        self.assertEqual(len(result.vectors), 150)
        self.assertEqual(result.vectors[149], fake_vector("text number 149"))
        self.assertEqual([len(r.json["input"]) for r in self.fake.requests],
                         [64, 64, 22])

    def test_dimensions(self):
        result = self.provider().embed("embed-model", TEXTS[:1], dimensions=16)
        self.assertEqual(len(result.vectors[0]), 16)
        self.assertEqual(self.fake.requests[0].json["dimensions"], 16)

    def test_server_error_retried(self):
        self.fail_embeddings(503, "overloaded")
        result = self.provider().embed("embed-model", TEXTS)
        self.assertEqual(len(result.vectors), 3)
        self.assertEqual(len(self.sleeps), 1)

    def test_malformed_answer(self):
        self.fake.reply("POST", self.path, json_body={"unexpected": True})
        self.assertFails("protocol", "malformed")

    def test_unreachable(self):
        error = self.assertFails("connection", "refused", base_url="http://127.0.0.1:9")
        self.assertIn("Fake", error.message)


@tagged("post_install", "-at_install")
class TestOpenAIEmbeddings(EmbeddingsContract, TransactionCase):
    fmt = "openai"
    path = "/v1/embeddings"

    def test_request(self):
        self.provider().embed("text-embedding-3-small", ["Hello"])
        request = self.fake.requests[0]
        self.assertEqual(request.json, {"model": "text-embedding-3-small", "input": ["Hello"],
                                        "encoding_format": "float"})
        self.assertEqual(request.headers["authorization"], "Bearer sk-test")

    def test_data_put_back_in_order(self):
        self.fake.reply("POST", self.path, json_body={
            "object": "list", "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [{"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
                     {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}]})
        result = self.provider().embed("m", ["a", "b"])
        self.assertEqual(result.vectors, [[1.0, 0.0], [0.0, 1.0]])

    def test_missing_vectors(self):
        self.fake.reply("POST", self.path, json_body={
            "object": "list", "data": [{"object": "embedding", "index": 0,
                                        "embedding": [1.0]}]})
        self.assertFails("protocol", "1 embeddings for 3 texts")

    def test_bad_key(self):
        self.assertFails("auth", "API key", api_key="sk-wrong")

    def test_rejected_input(self):
        # The real API's 400 for an empty text, kept in the message.
        error = self.assertFails("bad_request", "'$.input' is invalid", texts=[""])
        self.assertEqual(error.status, 400)

    def test_unknown_model(self):
        self.fail_embeddings(404, "The model `nope` does not exist", code="model_not_found")
        self.assertFails("not_found", "embed-model")


@tagged("post_install", "-at_install")
class TestAzureEmbeddings(EmbeddingsContract, TransactionCase):
    fmt = "azure"
    api_format = "openai"
    path = "/openai/deployments/embed-model/embeddings"

    def test_request(self):
        self.provider().embed("embed-model", ["Hello"])
        request = self.fake.requests[0]
        self.assertEqual(request.query, {"api-version": "2024-10-21"})
        self.assertEqual(request.headers["api-key"], "sk-test")


@tagged("post_install", "-at_install")
class TestOllamaEmbeddings(EmbeddingsContract, TransactionCase):
    fmt = "ollama"
    path = "/api/embed"

    def test_request(self):
        self.provider().embed("nomic-embed-text", ["Hello"], dimensions=32)
        self.assertEqual(self.fake.requests[0].json,
                         {"model": "nomic-embed-text", "input": ["Hello"], "dimensions": 32})

    def test_unknown_model(self):
        self.fail_embeddings(404, 'model "embed-model" not found, try pulling it first')
        self.assertFails("not_found", "embed-model")


@tagged("post_install", "-at_install")
class TestAnthropicHasNoEmbeddings(FakeProviderCase, TransactionCase):

    def test_says_so_without_a_request(self):
        provider = get_provider(ProviderConfig(
            name="Claude", api_format="anthropic", base_url=self.fake.base_url("anthropic")))
        self.assertFalse(provider.supports_embeddings)
        with self.assertRaises(ProviderError) as caught:
            provider.embed("claude-sonnet-4-5", TEXTS)
        self.assertIn("has no embeddings API", caught.exception.message)
        self.assertEqual(self.fake.requests, [])
