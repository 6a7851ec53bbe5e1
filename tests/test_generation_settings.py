"""Generation settings in each wire format's request (contract tests, over real HTTP to the
fake provider): temperature, the answer's length, reasoning effort and thinking budget, and
the rules each provider documents for them."""

from odoo.tests import TransactionCase, tagged

from ..providers import ChatMessage, ChatOptions, Finish, ProviderConfig, TextDelta, ToolCall, \
    get_provider
from .fake_provider import FakeProviderCase

HELLO = [ChatMessage("user", "Hi")]
IN_TOOL_LOOP = [ChatMessage("user", "Time?"),
                ChatMessage("assistant", "", tool_calls=(ToolCall("call_1", "now", {}),)),
                ChatMessage("tool", "12:00", tool_call_id="call_1", name="now")]


class SettingsCase(FakeProviderCase, TransactionCase):

    def body(self, fmt, options, messages=HELLO, **config):
        """The JSON body the wire module of ``fmt`` sent for one call with ``options``."""
        self.fake.script(fmt, [TextDelta("ok"), Finish("stop")])
        provider = get_provider(ProviderConfig(
            name="Fake", api_format="openai" if fmt == "azure" else fmt,
            base_url=self.fake.base_url(fmt), timeout=10.0,
            azure_api_version="2024-10-21" if fmt == "azure" else "", **config))
        list(provider.chat("fake-model", messages, [], options))
        return self.fake.requests[-1].json


@tagged("post_install", "-at_install")
class TestOpenAISettings(SettingsCase):

    def test_defaults_send_nothing(self):
        body = self.body("openai", ChatOptions())
        for key in ("temperature", "max_tokens", "max_completion_tokens", "reasoning_effort"):
            self.assertNotIn(key, body)

    def test_chat_model(self):
        body = self.body("openai", ChatOptions(temperature=0.4, max_tokens=200,
                                               reasoning_effort="high"))
        self.assertEqual((body["temperature"], body["max_tokens"]), (0.4, 200))
        self.assertNotIn("reasoning_effort", body, "a model without reasoning would refuse it")

    def test_reasoning_model(self):
        body = self.body("openai", ChatOptions(temperature=0.4, max_tokens=200,
                                               reasoning_effort="high", reasoning_model=True))
        self.assertEqual(body["reasoning_effort"], "high")
        self.assertNotIn("temperature", body, "OpenAI's reasoning models accept only the default")
        self.assertEqual(body["max_tokens"], 200)

    def test_answer_length_parameter(self):
        # Azure (like api.openai.com) takes the new name; a compatible server the classic one
        # unless the provider says otherwise.
        self.assertEqual(self.body("azure", ChatOptions(max_tokens=99))["max_completion_tokens"],
                         99)
        body = self.body("openai", ChatOptions(max_tokens=99),
                         max_tokens_param="max_completion_tokens")
        self.assertEqual(body["max_completion_tokens"], 99)
        self.assertNotIn("max_tokens", body)
        body = self.body("azure", ChatOptions(max_tokens=99), max_tokens_param="max_tokens")
        self.assertEqual(body["max_tokens"], 99)
        self.assertNotIn("max_completion_tokens", body)


@tagged("post_install", "-at_install")
class TestAnthropicSettings(SettingsCase):

    def test_defaults(self):
        body = self.body("anthropic", ChatOptions())
        self.assertEqual(body["max_tokens"], 4096, "the API requires max_tokens")
        self.assertNotIn("temperature", body)
        self.assertNotIn("thinking", body)

    def test_temperature_and_length(self):
        body = self.body("anthropic", ChatOptions(temperature=0.2, max_tokens=300))
        self.assertEqual((body["temperature"], body["max_tokens"]), (0.2, 300))
        # Anthropic's range is 0 to 1, OpenAI's 0 to 2: an assistant's 1.5 is sent as 1.
        self.assertEqual(self.body("anthropic", ChatOptions(temperature=1.5))["temperature"], 1.0)

    def test_thinking_budget(self):
        body = self.body("anthropic", ChatOptions(temperature=0.2, thinking_budget=2000,
                                                  reasoning_model=True))
        self.assertEqual(body["thinking"], {"type": "enabled", "budget_tokens": 2000})
        self.assertEqual(body["max_tokens"], 2000 + 4096, "room for the answer after thinking")
        self.assertNotIn("temperature", body, "thinking accepts only the default temperature")
        # From the effort when no budget is given; never below the API's minimum.
        self.assertEqual(self.body("anthropic", ChatOptions(
            reasoning_effort="medium", reasoning_model=True))["thinking"]["budget_tokens"], 4096)
        self.assertEqual(self.body("anthropic", ChatOptions(
            thinking_budget=10, reasoning_model=True))["thinking"]["budget_tokens"], 1024)

    def test_thinking_stays_under_the_answer_limit(self):
        """max_tokens counts thinking: a limit (the assistant's, or what a hard budget leaves)
        is never raised for it; thinking gets at most half, or none below the minimum."""
        body = self.body("anthropic", ChatOptions(max_tokens=8000, thinking_budget=16000,
                                                  reasoning_model=True))
        self.assertEqual((body["max_tokens"], body["thinking"]["budget_tokens"]), (8000, 4000))
        body = self.body("anthropic", ChatOptions(max_tokens=9000, thinking_budget=2000,
                                                  reasoning_model=True))
        self.assertEqual((body["max_tokens"], body["thinking"]["budget_tokens"]), (9000, 2000))
        body = self.body("anthropic", ChatOptions(max_tokens=1500, temperature=0.5,
                                                  reasoning_effort="high", reasoning_model=True))
        self.assertEqual(body["max_tokens"], 1500)
        self.assertNotIn("thinking", body)
        self.assertEqual(body["temperature"], 0.5, "without thinking the temperature applies")

    def test_no_thinking_for_other_models_nor_in_a_tool_loop(self):
        self.assertNotIn("thinking", self.body("anthropic", ChatOptions(thinking_budget=2000)))
        self.assertNotIn("thinking", self.body("anthropic", ChatOptions(
            thinking_budget=2000, reasoning_model=True), messages=IN_TOOL_LOOP))


@tagged("post_install", "-at_install")
class TestOllamaSettings(SettingsCase):

    def test_defaults_send_nothing(self):
        body = self.body("ollama", ChatOptions())
        self.assertNotIn("options", body)
        self.assertNotIn("think", body)

    def test_options(self):
        body = self.body("ollama", ChatOptions(temperature=0.7, max_tokens=128,
                                               reasoning_effort="low"))
        self.assertEqual(body["options"], {"temperature": 0.7, "num_predict": 128})
        self.assertNotIn("think", body, "a model without thinking refuses think")
        body = self.body("ollama", ChatOptions(thinking_budget=2048, reasoning_model=True))
        self.assertIs(body["think"], True)
