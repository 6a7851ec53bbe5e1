"""llm.provider and llm.model: configuration, key secrecy, buttons, environment set-up."""

from unittest.mock import patch

import psycopg2

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..models import llm_provider
from ..models.llm_provider import _ollama_url
from ..providers import ChatMessage, Finish, TextDelta, Usage, errors
from .engine_common import run_migration
from .fake_provider import FakeProviderCase, Silent, error_body, refused_url

KEY = "sk-fake-0123456789abcd"


@tagged("post_install", "-at_install")
class TestProviderModels(FakeProviderCase, TransactionCase):

    fake_api_key = KEY

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login="llm_provider_manager",
                                    groups="base.group_user,llm_thread.group_llm_manager")
        cls.user = new_test_user(cls.env, login="llm_provider_user", groups="base.group_user")
        cls.provider = cls.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai",
            "base_url": cls.fake.base_url("openai"), "api_key": KEY,
        })
        cls.portal = new_test_user(cls.env, login="llm_provider_portal",
                                   groups="base.group_portal")
        values = {"api_format": "openai", "base_url": cls.fake.base_url("openai"), "api_key": KEY}
        cls.foreign = cls.env["llm.provider"].create({
            **values, "name": "Theirs",
            "company_id": cls.env["res.company"].create({"name": "Providers Elsewhere"}).id})
        cls.archived = cls.env["llm.provider"].create({**values, "name": "Old", "active": False})

    # Configuration -----------------------------------------------------------------------

    def test_provider_config(self):
        self.provider.write({"extra_headers": '{"X-Title": "Odoo"}', "timeout": 30,
                             "azure_api_version": "2024-10-21"})
        config = self.provider._provider_config()
        self.assertEqual((config.name, config.api_format, config.base_url, config.api_key),
                         ("Fake OpenAI", "openai", self.fake.base_url("openai"), KEY))
        self.assertEqual((config.extra_headers, config.timeout, config.azure_api_version),
                         ({"X-Title": "Odoo"}, 30.0, "2024-10-21"))
        self.assertEqual(self.provider._get_provider().label, "Azure OpenAI (Fake OpenAI)")
        self.provider.api_format = "anthropic"
        self.assertEqual(self.provider._provider_config().azure_api_version, "",
                         "the Azure version only applies to the OpenAI format")
        self.assertEqual(self.provider._provider_config(timeout=5.0).timeout, 5.0)

    def test_extra_headers_must_be_a_json_object_of_text(self):
        for value in ("{oops", '["X-Title"]', '{"X-Count": 3}'):
            with self.assertRaises(ValidationError):
                self.provider.extra_headers = value

    def test_the_base_url_is_an_http_address(self):
        for value in ("not a url", "ftp://x/v1", "api.openai.com/v1", "https://"):
            with self.subTest(value=value), self.assertRaisesRegex(
                    ValidationError, "must be an http:// or https:// address, e.g. https://api"):
                self.provider.base_url = value
                self.provider.flush_recordset()
        self.provider.base_url = " http://gpu-box:11434 "

    def test_format_suggests_its_base_url(self):
        form = Form(self.env["llm.provider"])
        form.name = "Claude"
        form.api_format = "anthropic"
        self.assertEqual(form.base_url, "https://api.anthropic.com")
        form.api_format = "ollama"
        self.assertEqual(form.base_url, "http://localhost:11434")
        form.base_url = "http://gpu-box:11434"
        form.api_format = "openai"
        self.assertEqual(form.base_url, "http://gpu-box:11434", "a typed URL is kept")

    def test_form_hints_follow_the_record(self):
        """The Base URL's placeholder follows the format; the key's says "replace" only when a
        key is stored (the form reads both through placeholder_field)."""
        form = Form(self.env["llm.provider"].with_user(self.manager))
        self.assertEqual(form.api_key_placeholder, "Type the provider's API key")
        for api_format, url in llm_provider.DEFAULT_BASE_URLS.items():
            form.api_format = api_format
            self.assertEqual(form.base_url_placeholder, url)
        form.name = "Local"
        form.save()
        form = Form(self.provider.with_user(self.manager))
        self.assertEqual(form.api_key_placeholder, "Type a key to replace the stored one")
        arch = self.env["llm.provider"].get_view(view_type="form")["arch"]
        for field, hint in (("base_url", "base_url_placeholder"), ("api_key_input", "api_key_placeholder")):
            self.assertRegex(arch, rf'name="{field}"[^>]*placeholder_field[^>]*{hint}')

    # API key secrecy ---------------------------------------------------------------------

    def test_user_can_neither_read_nor_write_the_key(self):
        provider = self.provider.with_user(self.user)
        secret_fields = ("api_key", "api_key_input", "api_key_hint", "extra_headers")
        self.assertEqual(provider.read(["name"])[0]["name"], "Fake OpenAI")
        for field in secret_fields:
            with self.assertRaises(AccessError):
                provider.read([field])
            with self.assertRaises(AccessError):
                provider.search_read([("id", "=", provider.id)], [field])
            with self.assertRaises(AccessError):
                provider.web_read({field: {}})
            with self.assertRaises(AccessError):
                provider.write({field: "sk-stolen"})
        with self.assertRaises(AccessError):
            provider.search([("api_key", "=", KEY)])
        self.assertFalse(set(secret_fields) & set(provider.read()[0]),
                         "reading every field leaves the key out")
        self.assertFalse(set(secret_fields) & set(provider.fields_get()))

    def test_the_key_is_write_only_for_managers_too(self):
        self.provider.extra_headers = '{"X-Title": "Odoo"}'
        provider = self.provider.with_user(self.manager)
        with self.assertRaises(AccessError):
            provider.read(["api_key"])
        with self.assertRaises(AccessError):
            provider.search_read([("id", "=", provider.id)], ["api_key"])
        with self.assertRaises(AccessError):
            provider.web_read({"api_key": {}})
        with self.assertRaises(AccessError):
            provider.write({"api_key": "sk-typed-elsewhere"})
        with self.assertRaises(AccessError):
            provider.search([("api_key", "=", KEY)])
        self.assertNotIn(KEY, str(provider.read()))
        self.assertNotIn("api_key", provider.fields_get())
        # The extra headers are configuration managers read and edit (the README says so).
        self.assertEqual(provider.read(["extra_headers"])[0]["extra_headers"],
                         '{"X-Title": "Odoo"}')

    def test_user_chats_through_the_provider(self):
        """The key is read on the server side for the user, who never sees it."""
        self.fake.script("openai", [TextDelta("Hi"), Finish("stop")])
        provider = self.provider.with_user(self.user)._get_provider()
        self.assertEqual(provider.config.api_key, KEY)
        events = list(provider.chat("gpt-4o-mini", [ChatMessage("user", "Hello")]))
        self.assertEqual(events, [TextDelta("Hi"), Usage(0, 0), Finish("stop")])
        self.assertEqual(self.fake.requests[0].headers["authorization"], f"Bearer {KEY}")

    def test_form_never_loads_the_key(self):
        provider = self.provider.with_user(self.manager)
        views = provider.get_views([(False, "form")])
        loaded = views["models"]["llm.provider"]["fields"]
        self.assertNotIn("api_key", loaded)
        values = provider.web_read({name: {} for name in loaded
                                    if name not in ("model_ids", "default_model_id",
                                                    "company_id")})[0]
        self.assertNotIn(KEY, str(values))
        self.assertEqual((values["api_key_input"], values["api_key_hint"]), (False, "…abcd"))

    def test_key_input_replaces_the_key(self):
        provider = self.provider.with_user(self.manager)
        provider.api_key_input = "  sk-new-key-000000009999 "
        self.assertEqual(self.provider.api_key, "sk-new-key-000000009999")
        self.assertFalse(provider.api_key_input, "write-only")
        provider.api_key_input = False
        self.assertEqual(self.provider.api_key, "sk-new-key-000000009999",
                         "an empty input keeps it")

    # Buttons -----------------------------------------------------------------------------

    def test_test_connection(self):
        self.fake.models("openai", ["gpt-4o", "gpt-4o-mini"])
        action = self.provider.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["message"],
                         "Connected to Fake OpenAI: 2 models available.")
        self.provider.api_key = "sk-wrong-key-0000000000"
        action = self.provider.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(action["params"]["title"],
                         "OpenAI-compatible server (Fake OpenAI) rejected the API key (HTTP 401); "
                         "check the API key in LLM > Configuration > Providers.")
        self.assertEqual(action["params"]["message"], "Incorrect API key provided.")

    def test_a_refused_connection_reads_without_python_objects(self):
        self.provider.base_url = refused_url() + "/v1"
        action = self.provider.action_test_connection()
        self.assertIn("refused the connection", action["params"]["title"])
        self.assertEqual(action["params"]["message"],
                         "Failed to establish a new connection: [Errno 111] Connection refused")

    def test_test_connection_says_what_to_check(self):
        """Each failure of the check points at what can cause it; only a chat's answer is
        told to raise the provider's timeout (the check does not wait that long)."""
        settings = "in LLM > Configuration > Providers"
        self.fake.reply("GET", "/v1/models", 403,
                        json_body=error_body("openai", 403, "Project has no access."))
        self.fake.reply("GET", "/v1/models", 400,
                        json_body=error_body("openai", 400, "Unsupported request."))
        self.fake.reply("GET", "/wrong/v1/models", 404, body="<html>Not Found</html>")
        cases = [
            (self.fake.base_url("openai"), f"refused access (HTTP 403); check the API key "
                                           f"{settings} and what the provider allows it."),
            (self.fake.base_url("openai"), "rejected the request for its models (HTTP 400); "
                                           f"check the base URL and the API format {settings}."),
            (self.fake.root_url + "/wrong/v1", f"(HTTP 404); check the base URL and the API "
                                               f"format {settings}."),
            (refused_url() + "/v1", f"check the base URL {settings} and that the server is "
                                    "running."),
            ("http://llm.invalid/v1", f"cannot be found; check the base URL {settings}."),
        ]
        with Silent() as server, patch.object(llm_provider, "ADMIN_CHECK_TIMEOUT", 0.5):
            cases.append((server.url + "/v1", f"did not answer within 0.5 seconds; check that "
                                              f"the base URL {settings} leads to the "
                                              f"provider's API"))
            for url, advice in cases:
                with self.subTest(url=url):
                    self.provider.base_url = url
                    title = self.provider.action_test_connection()["params"]["title"]
                    self.assertIn(advice, title)
                    self.assertNotIn("timeout", title)

    def test_checks_of_a_silent_provider_end_before_the_answer_timeout(self):
        """Test connection and Fetch models wait ADMIN_CHECK_TIMEOUT for a server that takes
        the connection and never answers, not the provider's timeout, which answers keep."""
        self.provider.timeout = 3
        with Silent() as server, patch.object(llm_provider, "ADMIN_CHECK_TIMEOUT", 0.5,
                                              create=True):
            self.provider.base_url = server.url + "/v1"
            for action in ("action_test_connection", "action_fetch_models"):
                with self.subTest(action=action):
                    params = getattr(self.provider, action)()["params"]
                    self.assertEqual(params["type"], "danger")
                    self.assertIn("did not answer within 0.5 seconds; check that the base "
                                  "URL", params["title"])
        self.assertEqual(self.provider._provider_config().timeout, 3.0)

    def test_whole_seconds_read_without_a_decimal(self):
        self.assertIn("stopped answering for 5 seconds;",
                      errors.read_timeout("P", seconds=5.0).message)
        self.assertIn("within 10 seconds;", errors.connect_timeout("P", seconds=10.0).message)
        self.assertIn("stopped answering for 0.2 seconds;",
                      errors.read_timeout("P", seconds=0.2).message)
        error = errors.gave_up(errors.server_error("P", status=503), 4, 15.0)
        self.assertIn("after 4 retries over 15 seconds", error.message)
        self.assertEqual(error.params["waited"], 15)

    def test_only_its_managers_test_or_fetch_a_provider(self):
        """The buttons send the stored key to the provider's endpoint."""
        for user, provider in ((self.user, self.provider), (self.portal, self.provider),
                               (self.portal, self.archived), (self.manager, self.foreign)):
            for action in ("action_test_connection", "action_fetch_models"):
                with self.subTest(user=user.login, provider=provider.name, action=action), \
                        self.assertRaises(AccessError):
                    getattr(provider.with_user(user), action)()
        self.assertFalse(self.fake.requests, "the key was never sent")
        self.fake.models("openai", ["gpt-4o"], times=2)
        for provider in (self.provider, self.archived):
            action = provider.with_user(self.manager).action_test_connection()
            self.assertEqual(action["params"]["type"], "success", provider.name)

    def test_fetch_models_is_idempotent(self):
        ids = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "whisper-1"]
        self.fake.models("openai", ids, times=2)
        action = self.provider.action_fetch_models()
        self.assertEqual(action["params"]["message"], "Fake OpenAI: 3 models added, 0 updated.")
        models = self.provider.model_ids
        self.assertEqual(sorted(models.mapped("api_id")),
                         ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"])
        self.assertEqual(models.filtered(lambda m: m.use == "embedding").api_id,
                         "text-embedding-3-small")
        self.assertEqual(self.provider.default_model_id.api_id, "gpt-4o-mini",
                         "the cheapest priced chat model with tools, not the first by name")
        # OpenAI's list gives only ids: known names say what a model can do (the Auto model
        # picks among those with tools when a conversation has tools).
        self.assertEqual([(m.api_id, m.supports_tools, m.supports_vision) for m in models.sorted("api_id")],
                         [("gpt-4o", True, True), ("gpt-4o-mini", True, True),
                          ("text-embedding-3-small", False, False)])
        mini = models.filtered(lambda m: m.api_id == "gpt-4o-mini")
        mini.write({"input_price": 0.15, "output_price": 0.6, "supports_tools": True,
                    "name": "GPT-4o mini"})
        self.assertEqual(self.provider._fetch_models(), (0, 0))
        self.assertEqual(len(self.provider.model_ids), 3)
        self.assertEqual((mini.input_price, mini.supports_tools, mini.name),
                         (0.15, True, "GPT-4o mini"), "a manager's values survive a fetch")

    def test_fetch_models_default_and_what_is_not_chat(self):
        """OpenAI's real list: only the models Chat Completions takes are imported, the
        cheapest priced one with tools becomes the default; a default a manager set stays."""
        chat = ["chatgpt-4o-latest", "gpt-4.1", "gpt-4o", "gpt-4o-mini", "o3-mini"]
        not_chat = ["codex-mini-latest", "computer-use-preview", "o1-pro", "o3-pro-2025-06-10",
                    "gpt-5-pro", "gpt-5-codex", "o3-deep-research", "gpt-3.5-turbo-instruct",
                    "gpt-4o-search-preview", "gpt-4o-mini-search-preview", "gpt-4o-realtime-preview",
                    "gpt-4o-audio-preview", "gpt-4o-transcribe", "gpt-4o-mini-tts", "dall-e-3",
                    "whisper-1", "omni-moderation-latest", "babbage-002"]
        self.fake.models("openai", chat + not_chat + ["text-embedding-3-small"])
        self.provider._fetch_models()
        self.assertEqual(sorted(self.provider.model_ids.mapped("api_id")),
                         chat + ["text-embedding-3-small"])
        self.assertEqual(self.provider.default_model_id.api_id, "gpt-4o-mini")
        chosen = self.provider.model_ids.filtered(lambda m: m.api_id == "gpt-4.1")
        self.provider.default_model_id = chosen
        self.fake.models("openai", chat)
        self.provider._fetch_models()
        self.assertEqual(self.provider.default_model_id, chosen, "the manager's choice stays")
        # Without prices (a compatible server's own models): the first chat model.
        other = self.env["llm.provider"].create({
            "name": "Local", "api_format": "openai", "base_url": self.fake.base_url("openai"),
            "api_key": KEY})
        self.fake.models("openai", ["zeta-chat", "alpha-chat"])
        other._fetch_models()
        self.assertEqual(other.default_model_id.api_id, "alpha-chat")

    def test_fetch_models_gives_known_models_their_list_prices(self):
        """Neither provider's model list has prices (nor, for OpenAI, limits): known models
        get their list figures in USD (providers/catalogue.py), dated snapshots too, without
        replacing what a manager set; an unknown model stays without, and says so."""
        Model = self.env["llm.model"]
        kept = Model.create({"name": "Mini", "api_id": "gpt-4o-mini", "provider_id": self.provider.id,
                             "input_price": 0.2, "context_window": 64_000})
        earlier = Model.create({"name": "Nano", "api_id": "gpt-4.1-nano", "provider_id": self.provider.id})
        # As a fetch before the catalogue left it: everything at 0.
        earlier.write({"input_price": 0, "output_price": 0, "context_window": 0, "max_output_tokens": 0})
        self.fake.models("openai", ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4o-2024-08-06",
                                    "acme-chat-1", "o4-mini"])
        self.assertEqual(self.provider._fetch_models(), (3, 1), "the one left at 0 is filled")
        figures = {m.api_id: (m.input_price, m.output_price, m.context_window, m.max_output_tokens,
                              m.price_missing) for m in self.provider.model_ids}
        self.assertEqual(figures, {
            "gpt-4o-mini": (0.2, 0.6, 64_000, 16_384, False),
            "gpt-4.1-nano": (0.1, 0.4, 1_047_576, 32_768, False),
            "gpt-4o-2024-08-06": (2.5, 10.0, 128_000, 16_384, False),
            "acme-chat-1": (0.0, 0.0, 0, 0, True),
            "o4-mini": (1.1, 4.4, 200_000, 100_000, False),
        })
        self.assertEqual(Model.search([("provider_id", "=", self.provider.id),
                                       ("price_missing", "=", True)]).api_id, "acme-chat-1")
        claude = self.env["llm.provider"].create({
            "name": "Fake Claude", "api_format": "anthropic",
            "base_url": self.fake.base_url("anthropic"), "api_key": KEY})
        self.fake.models("anthropic", ["claude-sonnet-4-5-20250929", "claude-3-5-haiku-latest"])
        claude._fetch_models()
        self.assertEqual(sorted((m.api_id, m.input_price, m.output_price, m.context_window,
                                 m.max_output_tokens) for m in claude.model_ids),
                         [("claude-3-5-haiku-latest", 0.8, 4.0, 200_000, 8_192),
                          ("claude-sonnet-4-5-20250929", 3.0, 15.0, 200_000, 64_000)])

    def test_list_prices_only_in_usd_and_not_for_ollama(self):
        """The catalogue's prices are USD list prices: not for a provider billing in another
        currency, nor for Ollama, whose models run locally and cost nothing (and so are not
        "without a price")."""
        Model = self.env["llm.model"]
        euro = self.env.ref("base.EUR")
        self.provider.currency_id = euro
        billed_in_euro = Model.create({"name": "G", "api_id": "gpt-4o", "provider_id": self.provider.id})
        ollama = self.env["llm.provider"].create({
            "name": "Local", "api_format": "ollama", "base_url": "http://localhost:11434"})
        local = Model.create({"name": "L", "api_id": "gpt-4o", "provider_id": ollama.id})
        self.assertEqual([(m.input_price, m.context_window, m.price_missing) for m in (billed_in_euro, local)],
                         [(0.0, 0, True), (0.0, 0, False)])
        self.provider.currency_id = self.env.ref("base.USD")
        form = Form(Model.with_context(default_provider_id=self.provider.id))
        form.name = "Opus"
        form.api_id = "claude-opus-4-1-20250805"
        self.assertEqual((form.input_price, form.output_price, form.max_output_tokens), (15.0, 75.0, 32_000),
                         "the form shows the list prices before saving")
        form.input_price = 12.0
        self.assertEqual(form.save().input_price, 12.0, "the manager's price wins")

    def test_fetch_models_failure_is_a_message(self):
        self.fake.fail("openai", 404, "Not found")
        self.fake.reply("GET", "/v1/models", 404, body="<html>404</html>")
        action = self.provider.action_fetch_models()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("has nothing at", action["params"]["title"])
        self.assertEqual(action["params"]["message"], "404", "what the server said, as text")

    # Models ------------------------------------------------------------------------------

    def test_default_model_flag(self):
        Model = self.env["llm.model"]
        first = Model.create({"name": "A", "api_id": "a", "provider_id": self.provider.id})
        second = Model.create({"name": "B", "api_id": "b", "provider_id": self.provider.id})
        second.is_default = True
        self.assertEqual(self.provider.default_model_id, second)
        self.assertEqual((first.is_default, second.is_default), (False, True))
        second.is_default = False
        self.assertFalse(self.provider.default_model_id)
        self.assertEqual(second.display_name, "B (Fake OpenAI)")

    def test_a_new_conversation_starts_on_the_current_companys_provider(self):
        """Of the providers a user may use, a new conversation takes the current company's
        first, then a shared one, before another company's, whatever their sequence."""
        Model = self.env["llm.model"]
        self.provider.company_id = False
        theirs = self.foreign
        theirs.sequence = 0
        self.env.user.company_ids |= theirs.company_id
        Model.create({"name": "Theirs", "api_id": "t", "provider_id": theirs.id,
                      "is_default": True})
        shared = Model.create({"name": "Shared", "api_id": "s", "provider_id": self.provider.id})
        Thread = self.env["llm.thread"].with_context(
            allowed_company_ids=[self.env.company.id, theirs.company_id.id])
        self.assertEqual(Thread.browse(Thread.llm_ui_create()["id"]).model_id, shared)
        ours = self.env["llm.provider"].create({
            "name": "Ours", "api_format": "openai", "base_url": self.fake.base_url("openai"),
            "api_key": KEY, "company_id": self.env.company.id, "sequence": 99})
        own = Model.create({"name": "Own", "api_id": "o", "provider_id": ours.id})
        self.assertEqual(Thread.browse(Thread.llm_ui_create()["id"]).model_id, own)

    def test_new_model_marked_by_its_family(self):
        """A model added by hand is marked Tools and Vision as a fetched one is, from its API
        id, unless given; an existing model keeps what a manager set when its id changes."""
        Model = self.env["llm.model"]
        claude = Model.create({"name": "C", "api_id": "claude-sonnet-4-5", "provider_id": self.provider.id})
        local = Model.create({"name": "L", "api_id": "my-local-7b", "provider_id": self.provider.id})
        told = Model.create({"name": "T", "api_id": "gpt-4o", "provider_id": self.provider.id,
                             "supports_tools": False})
        self.assertEqual([(m.supports_tools, m.supports_vision) for m in (claude, local, told)],
                         [(True, True), (False, False), (False, True)])
        local.supports_tools = True
        local.api_id = "my-local-8b"
        self.assertTrue(local.supports_tools)
        form = Form(Model.with_context(default_provider_id=self.provider.id))
        form.name = "Q"
        form.api_id = "qwen3:8b"
        self.assertTrue(form.supports_tools, "the form marks it as create would")
        form.supports_tools = False
        self.assertFalse(form.save().supports_tools, "the manager's choice wins")

    def test_migration_marks_known_models(self):
        """Before 18.0.0.3.0 the Tools flag defaulted to off and decided nothing: the migration
        marks the models whose family calls tools, and leaves the others as they were."""
        Model = self.env["llm.model"]
        gpt = Model.create({"name": "G", "api_id": "gpt-4o-mini", "provider_id": self.provider.id})
        local = Model.create({"name": "L", "api_id": "my-local-7b", "provider_id": self.provider.id})
        self.env.cr.execute("UPDATE llm_model SET supports_tools = false, supports_vision = false"
                            " WHERE id IN %s", [(gpt.id, local.id)])
        run_migration(self.env.cr, "18.0.0.3.0", "18.0.0.2.0")
        self.env.invalidate_all()
        self.assertEqual([(m.supports_tools, m.supports_vision) for m in (gpt, local)],
                         [(True, True), (False, False)])

    def test_default_model_belongs_to_the_provider(self):
        other = self.env["llm.provider"].create({"name": "Other", "base_url": "http://x/v1"})
        model = self.env["llm.model"].create({"name": "X", "api_id": "x", "provider_id": other.id})
        with self.assertRaises(ValidationError):
            self.provider.default_model_id = model

    @mute_logger("odoo.sql_db")
    def test_api_id_unique_per_provider(self):
        self.env["llm.model"].create({"name": "A", "api_id": "a", "provider_id": self.provider.id})
        with self.assertRaises(psycopg2.IntegrityError):
            self.env["llm.model"].create({"name": "A2", "api_id": "a",
                                          "provider_id": self.provider.id})

    # Environment -------------------------------------------------------------------------

    def test_configure_from_environment(self):
        environ = {
            "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": self.fake.base_url("openai"),
            "ANTHROPIC_API_KEY": "sk-ant-0123456789", "ANTHROPIC_BASE_URL": refused_url(),
            "OLLAMA_HOST": f"127.0.0.1:{self.fake.port}",
        }
        self.fake.models("openai", ["gpt-4o", "gpt-4o-mini"])
        self.fake.models("ollama", ["llama3.2:latest", "qwen3:8b"])
        Provider = self.env["llm.provider"]
        with self.assertLogs("odoo.addons.llm_thread.models.llm_provider", "WARNING") as logs:
            providers = Provider._configure_from_environment(environ)
        self.assertIn("Anthropic: models not fetched", logs.output[0])
        by_format = {provider.api_format: provider for provider in providers}
        self.assertEqual(by_format["openai"].default_model_id.api_id, "gpt-4o-mini")
        self.assertEqual(by_format["anthropic"].default_model_id.api_id, "claude-sonnet-4-5",
                         "unreachable: the usual model is created")
        self.assertTrue(by_format["anthropic"].default_model_id.supports_tools,
                        "with what its name is known to do")
        self.assertEqual(by_format["ollama"].model_ids.mapped("supports_tools"), [True, True],
                         "llama3.2 and qwen3 call tools")
        self.assertEqual(by_format["ollama"].default_model_id.api_id, "llama3.2:latest")
        self.assertEqual(by_format["ollama"].base_url, f"http://127.0.0.1:{self.fake.port}")
        self.assertEqual(by_format["anthropic"].api_key, "sk-ant-0123456789")

        models = self.env["llm.model"].search_count([])
        environ["ANTHROPIC_API_KEY"] = "sk-ant-rotated-000"
        again = Provider._configure_from_environment(environ)
        self.assertEqual(again, providers, "the same providers, updated")
        self.assertEqual(self.env["llm.model"].search_count([]), models)
        self.assertEqual(by_format["anthropic"].api_key, "sk-ant-rotated-000")
        self.assertEqual(len(self.fake.requests), 2, "nothing fetched again")
        self.assertFalse(Provider._configure_from_environment({}))

    def test_ollama_host_forms(self):
        self.assertEqual(_ollama_url("localhost"), "http://localhost:11434")
        self.assertEqual(_ollama_url("0.0.0.0:8080"), "http://0.0.0.0:8080")
        self.assertEqual(_ollama_url("[::1]"), "http://[::1]:11434")
        self.assertEqual(_ollama_url("https://ollama.example.com/"), "https://ollama.example.com")


@tagged("post_install", "-at_install")
class TestProviderFormTour(FakeProviderCase, HttpCase):
    """A new administrator looks for Test connection before saving the provider."""

    def test_test_connection_on_a_new_provider(self):
        self.start_tour("/odoo", "llm_thread_new_provider_test_connection", login="admin")
        provider = self.env["llm.provider"].search([("name", "=", "Tour Provider")])
        self.assertEqual(provider.base_url, "http://127.0.0.1:9/v1")
