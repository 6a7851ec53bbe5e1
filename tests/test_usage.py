import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..engine.claim import STALE_AFTER
from ..engine.tokens import estimate_prompt_tokens, estimate_tokens
from ..providers import base
from .engine_common import WAIT, EngineCase, Gate, WireCase, answer, parse_sse
from .fake_provider import Raw


def openai_chunk(delta, finish=None):
    """One ``chat.completion.chunk`` as an OpenAI-compatible server frames it."""
    return Raw("data: " + json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1735689600,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }) + "\n\n")


class UsageCase(EngineCase):
    """Prices on the thread's model; helpers reading the usage lines."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model.write({"input_price": 2.0, "output_price": 10.0})
        cls.company = cls.env.company
        cls.admin = cls.env.ref("base.user_admin")

    def usage_lines(self, thread=None):
        return self.env["llm.usage"].search([("thread_id", "=", (thread or self.thread).id)],
                                            order="id")

    def add_usage(self, user, tokens, cost=0.0, date=None):
        """A past call of ``user`` this month (or at ``date``)."""
        return self.env["llm.usage"].sudo().create({
            "date": date or fields.Datetime.now(), "user_id": user.id,
            "company_id": self.company.id, "input_tokens": tokens, "output_tokens": 0,
            "total_tokens": tokens, "cost": cost, "currency_id": self.company.currency_id.id})

    def budget(self, **values):
        return self.env["llm.budget"].create({
            "name": "A's monthly tokens", "scope": "user", "user_id": self.user_a.id,
            "unit": "tokens", "limit": 1000, **values})


@tagged("post_install", "-at_install")
class TestUsageThroughTheWire(UsageCase, WireCase):
    """Usage lines from each provider format, through the route, the wire modules and the
    fake provider server."""

    def use_format(self, fmt):
        self.provider_record.write({"api_format": fmt, "base_url": self.fake.base_url(fmt)})

    def test_usage_recorded_from_each_format(self):
        for fmt in ("openai", "anthropic", "ollama"):
            with self.subTest(fmt=fmt):
                self.use_format(fmt)
                self.fake.script(fmt, [base.TextDelta("Hello"), base.Usage(9000, 3000),
                                       base.Finish("stop")])
                _response, events = self.generate(self.thread, f"Hi {fmt}")
                line = self.usage_lines()[-1]
                assistant = self.messages(self.thread, "assistant")[-1]
                self.assertRecordValues(line, [{
                    "user_id": self.user_a.id, "company_id": self.company.id,
                    "thread_id": self.thread.id, "message_id": assistant.id,
                    "provider_id": self.provider_record.id, "model_id": self.model.id,
                    "input_tokens": 9000, "output_tokens": 3000, "total_tokens": 12000,
                    "estimated": False, "currency_id": self.company.currency_id.id,
                }])
                # 9,000 input tokens at 2.0 and 3,000 output tokens at 10.0 a million.
                self.assertAlmostEqual(line.cost, 0.048)
                usage = dict(events)["usage"]
                self.assertEqual(usage, {
                    "message_id": assistant.id, "input_tokens": 9000, "output_tokens": 3000,
                    "estimated": False, "cost": line.cost,
                    "currency": self.company.currency_id.name, "model": "Scripted",
                    "provider": "Scripted"})
                self.assertEqual(assistant.body_json["usage"], {
                    "input_tokens": 9000, "output_tokens": 3000, "cost": line.cost,
                    "currency": self.company.currency_id.name, "model": "Scripted",
                    "provider": "Scripted"})
        self.assertEqual(len(self.usage_lines()), 3, "one line per provider call")

    def test_usage_estimated_when_the_provider_sends_none(self):
        # An OpenAI-compatible server ignoring stream_options.include_usage: no usage chunk.
        self.use_format("openai")
        self.fake.script("openai", [
            openai_chunk({"role": "assistant", "content": ""}),
            openai_chunk({"content": "Twelve chars"}),
            openai_chunk({}, "stop"),
            Raw("data: [DONE]\n\n"),
        ])
        _response, events = self.generate(self.thread, "Count these characters please")
        line = self.usage_lines()
        self.assertEqual(len(line), 1)
        self.assertTrue(line.estimated)
        self.assertEqual(line.output_tokens, estimate_tokens("Twelve chars"))
        # The prompt as sent: the user's message and the thread's tools.
        self.assertEqual(len(self.fake.requests[-1].json["tools"]), len(self.thread.tool_names))
        self.assertEqual(line.input_tokens, estimate_prompt_tokens(
            [base.ChatMessage("system", self.thread.with_user(self.user_a)._llm_user_context()),
             base.ChatMessage("user", "Count these characters please")],
            [tool._llm_spec() for tool in self.env["llm.tool"].with_user(self.user_a)._llm_enabled(
                self.thread.tool_names)]))
        self.assertTrue(dict(events)["usage"]["estimated"])
        self.assertTrue(self.messages(self.thread, "assistant").body_json["usage"]["estimated"])

    def test_cost_converted_into_the_company_currency(self):
        company_currency = self.company.currency_id
        billing = self.env.ref("base.EUR" if company_currency.name != "EUR" else "base.USD")
        billing.active = True
        # 1 unit of the company's currency buys 0.5 of the billing currency.
        self.env["res.currency.rate"].create({
            "currency_id": billing.id, "company_id": self.company.id, "rate": 0.5,
            "name": fields.Date.today() - timedelta(days=1)})
        company_currency.rate_ids.filtered(lambda r: r.company_id == self.company).unlink()
        self.provider_record.currency_id = billing
        self.use_format("openai")
        self.fake.script("openai", [base.TextDelta("Hi"), base.Usage(1_000_000, 0),
                                    base.Finish("stop")])
        self.generate(self.thread, "Hello")
        line = self.usage_lines()
        # 1M input tokens at 2.0 of the billing currency = 4.0 of the company's.
        self.assertAlmostEqual(line.cost, 4.0)
        self.assertEqual(line.currency_id, company_currency)

    def test_auto_model_with_and_without_tools(self):
        self.use_format("openai")
        Model = self.env["llm.model"]
        cheap = Model.create({"name": "Cheap", "api_id": "cheap", "provider_id": self.provider_record.id,
                              "input_price": 0.1, "output_price": 0.4})
        tooled = Model.create({"name": "Tooled", "api_id": "tooled", "supports_tools": True,
                               "provider_id": self.provider_record.id,
                               "input_price": 0.5, "output_price": 1.5})
        self.thread.write({"auto_model": True, "tool_names": ["search_records"]})
        for tools, expected in ((["search_records"], tooled), ([], cheap)):
            with self.subTest(tools=tools):
                self.thread.tool_names = tools
                self.fake.script("openai", [base.TextDelta("Hi"), base.Usage(10, 2),
                                            base.Finish("stop")], model=expected.api_id)
                _response, events = self.generate(self.thread, "Hello")
                self.assertEqual(self.fake.requests[-1].json["model"], expected.api_id)
                self.assertEqual(dict(events)["usage"]["model"], expected.name, "the user sees it")
                self.assertEqual(self.usage_lines()[-1].model_id, expected)

    def test_hard_budget_refuses_before_any_request(self):
        self.use_format("openai")
        budget = self.budget(limit=100)
        self.add_usage(self.user_a, 99)
        self.fake.script("openai", [base.TextDelta("never"), base.Finish("stop")])
        response, events = self.generate(self.thread, "One more question")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.fake.requests, [], "the provider saw no request")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn(budget.name, error["message"])
        self.assertIn(self.admin.name, error["message"], "it names who can raise the budget")
        self.assertIn("LLM > Configuration > Budgets", error["message"])
        self.assertEqual(self.names(events)[-3:], ["message_final", "error", "done"])
        user_message, assistant = self.messages(self.thread)
        self.assertEqual(user_message.body, "<p>One more question</p>", "the message is kept")
        self.assertEqual(assistant.body_json["error"],
                         {"code": "budget_exceeded", "message": error["message"]})
        self.assertEqual(error["message_id"], assistant.id)
        self.assertFalse(self.usage_lines(), "no call, no usage")
        self.assertEqual(self.thread.generation_state, "error")


@tagged("post_install", "-at_install")
class TestBudgets(UsageCase):
    """Budgets checked before each call (scripted provider: only the network is left out)."""

    def test_warning_at_80_percent_and_managers_notified_once(self):
        budget = self.budget(hard=False)
        self.add_usage(self.user_a, 850)
        for attempt in range(2):
            self.script(answer("Sure."))
            _response, events = self.generate(self.thread, f"Question {attempt}")
            self.assertEqual(self.names(events)[:2], ["message_created", "budget_warning"])
            warning = events[1][1]["message"]
            self.assertIn(budget.name, warning)
            self.assertIn("% of the monthly budget", warning)
            if not attempt:
                # What is used, as the budget's form says: not this call's estimate on top.
                self.assertIn("85% of the monthly budget", warning)
                self.assertIn("(850 tokens of 1,000 tokens)", warning)
            self.assertEqual(self.text(events), "Sure.", "a warning does not stop the answer")
        self.assertEqual(len(self.provider.requests), 2)
        notices = budget.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_comment"))
        self.assertEqual(len(notices), 1, "managers are notified once a month")
        self.assertIn(self.admin.partner_id, notices.partner_ids)
        self.assertIn(budget.name, notices.body)
        self.assertIn("has reached 85% (850 tokens of 1,000 tokens)", notices.body)
        self.assertEqual(budget.notified_month, fields.Datetime.now().strftime("%Y-%m"))

    def test_managers_notified_when_a_budget_goes_straight_to_refusing(self):
        """One answer took the budget from under 80% to spent: no call was made between,
        and the refusal of the next one is when the managers hear of it."""
        budget = self.budget(hard=True)
        self.add_usage(self.user_a, 1000)
        _response, events = self.generate(self.thread, "One more")
        self.assertIn("error", self.names(events))
        notices = budget.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_comment"))
        self.assertIn("has reached 100% (1,000 tokens of 1,000 tokens)", notices.body)
        self.assertIn(self.admin.partner_id, notices.partner_ids)

    def test_the_warning_is_shown_again_after_a_reload(self):
        budget = self.budget(hard=False)
        self.add_usage(self.user_a, 850)
        self.assertIn("85% of the monthly budget \"A's monthly tokens\" is used",
                      self.thread.llm_ui_load()["budget_warning"])
        budget.limit = 10_000
        self.assertEqual(self.thread.llm_ui_load()["budget_warning"], "")

    def test_the_warning_follows_the_answer_that_crossed_80_percent(self):
        """The warning told at a call's start counts what was used before it: after the
        answer the chat is told the budget as it is now, not one answer behind."""
        self.budget(hard=False)
        self.add_usage(self.user_a, 700)
        self.script(answer("Sure.", usage=(100, 50)))
        _response, events = self.generate(self.thread, "Hi")
        names = self.names(events)
        self.assertEqual(names.count("budget_warning"), 1)
        self.assertLess(names.index("usage"), names.index("budget_warning"))
        self.assertIn("85% of the monthly budget", dict(events)["budget_warning"]["message"])
        self.assertIn("(850 tokens of 1,000 tokens)", dict(events)["budget_warning"]["message"])

    def test_no_warning_below_80_percent_nor_for_others_budgets(self):
        self.budget(limit=1000)
        self.budget(name="B's budget", user_id=self.user_b.id, limit=1)
        self.add_usage(self.user_a, 100)
        self.add_usage(self.user_a, 5000, date=fields.Datetime.now() - timedelta(days=40))
        self.script(answer("Fine."))
        _response, events = self.generate(self.thread, "Hi")
        self.assertNotIn("budget_warning", self.names(events))
        self.assertNotIn("error", self.names(events))
        self.assertEqual(self.text(events), "Fine.")

    def test_an_archived_budget_limits_nothing(self):
        self.budget(limit=10, active=False)
        self.script(answer("Free again."))
        _response, events = self.generate(self.thread, "Hi")
        self.assertEqual(self.text(events), "Free again.")
        self.assertNotIn("error", self.names(events))

    def test_company_money_budget_counts_every_user(self):
        self.env["llm.budget"].create({
            "name": "Company spend", "scope": "company", "unit": "money", "limit": 5.0})
        self.add_usage(self.user_b, 10, cost=5.0)
        self.script(answer("never"))
        _response, events = self.generate(self.thread, "Hi")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn("Company spend", error["message"])
        self.assertEqual(self.provider.requests, [], "refused before the provider call")
        currency = self.company.currency_id
        currency.write({"symbol": "€", "position": "after", "rounding": 0.01})
        budget = self.env["llm.budget"].search([("name", "=", "Company spend")])
        self.assertEqual(budget._llm_amount(1234.5), "1,234.50\N{NO-BREAK SPACE}€")
        self.assertEqual(budget._llm_amount(0.0028), "0.0028\N{NO-BREAK SPACE}€",
                         "a fraction of a cent is not shown as nothing")
        self.env["res.lang"]._activate_lang("fr_FR")
        french = budget.with_context(lang="fr_FR")
        self.assertEqual(french._llm_amount(1234.5),
                         "1\N{NO-BREAK SPACE}234,50\N{NO-BREAK SPACE}€")
        self.assertEqual(french._llm_amount(0.0028), "0,0028\N{NO-BREAK SPACE}€")

    def test_a_money_budget_names_the_models_without_a_price(self):
        """A model without a price costs nothing in a money budget: its form says which, and
        says nothing for a token budget, for Ollama's (local, free) models nor for another
        company's."""
        Model = self.env["llm.model"]
        budget = self.env["llm.budget"].create({
            "name": "Company spend", "scope": "company", "unit": "money", "limit": 5.0})
        self.assertFalse(budget.price_warning, "the thread's model has prices")
        Model.create({"name": "Mystery", "api_id": "mystery-1", "provider_id": self.provider_record.id})
        budget.invalidate_recordset(["price_warning"])  # as the form reads it again
        self.assertEqual(budget.price_warning,
                         "The model Mystery (Scripted) has no price: its use costs nothing in this "
                         "budget; set its prices in LLM > Configuration > Models.")
        Model.create({"name": "Enigma", "api_id": "enigma-2", "provider_id": self.provider_record.id})
        ollama = self.env["llm.provider"].create({
            "name": "Local", "api_format": "ollama", "base_url": "http://localhost:11434"})
        Model.create({"name": "Llama", "api_id": "llama3.2", "provider_id": ollama.id})
        elsewhere = self.env["llm.provider"].create({
            "name": "Theirs", "base_url": "http://x/v1",
            "company_id": self.env["res.company"].create({"name": "Budgets Elsewhere"}).id})
        Model.create({"name": "Foreign", "api_id": "foreign-3", "provider_id": elsewhere.id})
        budget.invalidate_recordset(["price_warning"])
        self.assertEqual(budget.price_warning,
                         "2 models have no price (Enigma (Scripted), Mystery (Scripted)): their use "
                         "costs nothing in this budget; set their prices in LLM > Configuration > "
                         "Models.")
        budget.unit = "tokens"
        self.assertFalse(budget.price_warning, "a token budget counts every model")

    def test_a_french_user_reads_numbers_the_french_way(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.user_a.lang = "fr_FR"
        budget = self.budget(limit=300_000, hard=False)
        self.add_usage(self.user_a, 263_131)
        self.script(answer("Sure."))
        _response, events = self.generate(self.thread, "Hi")
        # The one told at the call's start (another follows the answer, with its tokens).
        warning = next(payload["message"] for name, payload in events if name == "budget_warning")
        self.assertIn("(263\N{NO-BREAK SPACE}131 jetons sur 300\N{NO-BREAK SPACE}000 jetons)",
                      warning)
        self.assertEqual(budget.with_context(lang="en_US")._llm_amount(263_131), "263,131 tokens")

    def test_a_token_limit_shows_no_decimals(self):
        budget = self.budget(limit=10_000_000)
        self.assertEqual(budget.limit_display, "10,000,000 tokens")
        form = self.env["llm.budget"].get_view(view_type="form")["arch"]
        self.assertIn("'digits': [16, 0]", form)

    def test_budget_checked_before_each_call_of_a_tool_loop(self):
        self.budget(limit=1000)
        self.script([base.ToolCallEvent(base.ToolCall("c1", "search_records", {
            "model": "res.partner", "domain": [], "limit": 1})), base.Usage(990, 5),
            base.Finish("tool_calls")], answer("never"))
        self.thread.tool_names = ["search_records"]
        _response, events = self.generate(self.thread, "Find a partner")
        self.assertEqual(len(self.provider.requests), 1, "the second call was refused")
        self.assertEqual(dict(events)["error"]["code"], "budget_exceeded")
        self.assertEqual(len(self.usage_lines()), 1, "the first call is recorded")

    def test_a_hard_budget_refuses_a_call_it_has_no_room_for(self):
        # 900 used + a short prompt fits in 1,000 tokens, but a short answer (the reserve, 256
        # here) does not: refused, rather than cut after a few words; the user is told why.
        self.budget(limit=1000)
        self.add_usage(self.user_a, 900)
        self.script(answer("never"))
        _response, events = self.generate(self.thread, "Hi")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn("900 tokens of 1,000 tokens are used", error["message"])
        self.assertRegex(error["message"], r"this question needs about [\d,]+ tokens")
        # The conversation's first question: a new one would send as much.
        self.assertNotIn("a new conversation sends less", error["message"])
        self.assertIn("are sent with every question", error["message"])
        self.assertEqual(self.provider.requests, [])

    def test_a_refusal_with_history_suggests_a_new_conversation(self):
        self.budget(limit=1000)
        self.script(answer("Hello there."))
        self.generate(self.thread, "Hi")
        self.add_usage(self.user_a, 900)
        self.script(answer("never"))
        _response, events = self.generate(self.thread, "And then?")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn("a new conversation sends less", error["message"])
        self.assertEqual(len(self.provider.requests), 1)

    def test_a_spent_hard_budget_says_it_is_spent(self):
        """Past its limit no question passes: the refusal does not suggest a shorter one."""
        self.budget(limit=3000)
        self.add_usage(self.user_a, 3339)
        _response, events = self.generate(self.thread, "Hi")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn("is spent: 3,339 tokens of 3,000 tokens are used", error["message"])
        self.assertNotIn("a new conversation sends less", error["message"])
        self.assertEqual(self.provider.requests, [])

    def test_a_small_hard_budget_answers_within_what_it_has_left(self):
        # Less left than the model's whole answer reserve, but room for a short answer: the
        # call goes ahead, capped (refused, such a budget would refuse every call, every month).
        self.patch(type(self.env["llm.thread"]), "_llm_resolve_model",
                   lambda thread, model, provider: (self.provider, "scripted-model",
                                                    self.window, 4096))
        self.budget(limit=1500)
        self.add_usage(self.user_a, 280)
        self.script(answer("Within."))
        _response, events = self.generate(self.thread, "Hi")
        self.assertEqual(self.text(events), "Within.")
        request = self.provider.requests[-1]
        prompt = estimate_prompt_tokens(request["messages"], request["tools"])
        self.assertEqual(request["options"].max_tokens, 1500 - 280 - prompt)

    def test_the_answer_is_capped_to_what_a_hard_budget_has_left(self):
        self.script(answer("Free."))  # 12 + 34 tokens
        self.generate(self.thread, "No budget yet")
        self.assertIsNone(self.provider.requests[-1]["options"].max_tokens)

        self.budget(limit=2000)
        self.add_usage(self.user_a, 500)
        self.script(answer("Capped."))
        _response, events = self.generate(self.thread, "Hi")
        self.assertEqual(self.text(events), "Capped.")
        request = self.provider.requests[-1]
        prompt = estimate_prompt_tokens(request["messages"], request["tools"])
        self.assertEqual(request["options"].max_tokens, 2000 - (500 + 12 + 34) - prompt,
                         "an answer longer than the reserve cannot pass the limit either")

    def test_a_large_hard_budget_sends_no_cap_above_what_the_model_writes(self):
        """The APIs refuse a max_tokens above the model's own output limit (a 200,000-token
        budget once sent 198,457 to GPT-4o): the cap goes only when it is below it."""
        budget = self.budget(limit=200_000)
        self.script(answer("Free."))
        self.generate(self.thread, "Hi")
        self.assertIsNone(self.provider.requests[-1]["options"].max_tokens,
                          "Max Output Tokens unknown: 16,384 assumed")
        budget.limit = 10_000
        self.model.max_output_tokens = 4_000
        self.script(answer("Its own limit."))
        self.generate(self.thread, "Again")
        self.assertEqual(self.provider.requests[-1]["options"].max_tokens, 4_000,
                         "never above what the model writes")
        self.model.max_output_tokens = 0
        self.script(answer("Capped."))
        self.generate(self.thread, "Once more")
        self.assertLess(self.provider.requests[-1]["options"].max_tokens, 10_000)

    def test_the_budgets_user_is_not_told_of_a_record_they_cannot_open(self):
        budget = self.budget(user_id=self.user_b.id)
        budget.write({"user_id": self.user_a.id, "limit": 2000})
        self.assertFalse(budget.message_partner_ids & (self.user_a | self.user_b).partner_id,
                         "the counted users do not follow it")
        self.assertFalse(self.env["mail.message"].search(
            [("partner_ids", "in", (self.user_a | self.user_b).partner_id.ids)]),
            "nor are they sent \"you have been assigned\"")

    def test_calls_at_the_same_time_count_each_others_reservation(self):
        """A call under a hard budget reserves its prompt and its answer's cap until its usage
        line replaces them: a second call started while the first streams is refused (both
        passed the check when only recorded usage counted), and goes ahead once the first
        is counted."""
        self.budget(limit=2000)
        other = self.env["llm.thread"].with_user(self.user_a).create({
            "name": "A's other chat", "provider_id": self.provider_record.id,
            "model_id": self.model.id})
        gate = Gate()
        self.script([base.TextDelta("first "), gate, *answer("answer", usage=(300, 400))],
                    answer("Third."))
        first = self.post_generate(self.thread, "one", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        request = self.provider.requests[0]
        reserved = estimate_prompt_tokens(request["messages"], request["tools"]) \
            + request["options"].max_tokens
        self.assertEqual(reserved, 2000, "its prompt and the cap of its answer")
        _response, events = self.generate(other, "two")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn("2,000 tokens of 2,000 tokens are used", error["message"])
        self.assertEqual(len(self.provider.requests), 1, "the second call was not made")
        gate.open()
        self.assertEqual(self.text(parse_sse(first.iter_lines())), "first answer")
        self.env.invalidate_all()
        self.assertEqual(self.usage_lines().mapped("total_tokens"), [700])
        self.assertFalse(self.env["llm.budget.reservation"].search([]),
                         "the usage line replaced the reservation")
        _response, events = self.generate(other, "three")
        self.assertEqual(self.text(events), "Third.")
        request = self.provider.requests[-1]
        self.assertEqual(request["options"].max_tokens, 2000 - 700 - estimate_prompt_tokens(
            request["messages"], request["tools"]))

    def test_a_reservation_counts_only_while_its_generation_lives(self):
        """A reservation left by a killed process does not block the budget: it counts while
        the generation that made it holds its claim, with a live heartbeat."""
        self.budget(limit=2000)
        other = self.env["llm.thread"].with_user(self.user_a).create({
            "name": "A's other chat", "provider_id": self.provider_record.id,
            "model_id": self.model.id})
        other.sudo().write({"generation_state": "generating", "generation_token": "t1",
                            "generation_heartbeat": fields.Datetime.now()})
        self.env["llm.budget.reservation"].with_user(self.user_a)._llm_reserve(
            (other.id, "t1"), self.company, 1900, 0.25)
        _response, events = self.generate(self.thread, "Hi")
        self.assertEqual(dict(events)["error"]["code"], "budget_exceeded")
        # Its process died: no heartbeat for longer than a claim lives without one.
        other.sudo().generation_heartbeat = fields.Datetime.now() - STALE_AFTER \
            - timedelta(seconds=1)
        self.script(answer("Room again."))
        _response, events = self.generate(self.thread, "Hi again")
        self.assertEqual(self.text(events), "Room again.")
        # Money budgets count the reservations' cost.
        other.sudo().generation_heartbeat = fields.Datetime.now()
        money = self.env["llm.budget"].create({"name": "Company spend", "scope": "company",
                                               "unit": "money", "limit": 5.0})
        self.assertEqual(money._llm_reserved(fields.Datetime.now()), {money.id: 0.25})

    def test_calls_count_in_their_providers_company(self):
        """A user of two companies working in B with A's provider spends A's money: the
        call's line and the budgets checked are A's, not those of the current company."""
        company_b = self.env["res.company"].create({"name": "Company B"})
        self.user_a.company_ids = [(4, company_b.id)]
        self.assertEqual(self.provider_record.company_id, self.company)
        self.script(answer("On A's bill."))
        self.generate(self.thread, "Hi", companies=[company_b, self.company])
        self.assertEqual(self.usage_lines().company_id, self.company)
        self.env["llm.budget"].create({"name": "A spent", "scope": "company",
                                       "company_id": self.company.id, "limit": 1})
        self.script(answer("never"))
        _response, events = self.generate(self.thread, "Again",
                                          companies=[company_b, self.company])
        error = dict(events)["error"]
        self.assertEqual(error["code"], "budget_exceeded")
        self.assertIn("A spent", error["message"])
        self.assertEqual(len(self.provider.requests), 1)
        # A provider shared between companies: the call counts in the current one.
        self.provider_record.company_id = False
        _response, events = self.generate(self.thread, "In B",
                                          companies=[company_b, self.company])
        self.assertEqual(self.text(events), "never")
        self.assertEqual(self.usage_lines()[-1].company_id, company_b)

    def test_the_call_is_counted_when_its_answer_was_deleted_meanwhile(self):
        self.budget(limit=10_000)
        gate = Gate()
        self.script([base.TextDelta("first "), gate, *answer("answer", usage=(300, 400))])
        response = self.post_generate(self.thread, "one", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        # Deleted by the server's own code or an administrator in sudo (the owner may not
        # delete an answer: models/mail_message.py).
        with self.registry.cursor() as cr:
            cr.execute("SELECT id FROM mail_message WHERE model = 'llm.thread' AND res_id = %s "
                       "AND llm_role = 'assistant'", (self.thread.id,))
            answer_id = cr.fetchone()[0]
            self.env(cr=cr, user=self.user_a, su=True)["mail.message"].browse(answer_id).unlink()
        gate.open()
        events = parse_sse(response.iter_lines())
        self.assertEqual(self.text(events), "first answer")
        self.assertNotIn("error", self.names(events))
        self.env.invalidate_all()
        line = self.usage_lines()
        self.assertEqual((line.total_tokens, line.message_id.id), (700, False))
        self.assertFalse(self.env["llm.budget.reservation"].search([]))

    def test_user_budget_needs_a_user(self):
        with self.assertRaises(ValidationError):
            self.env["llm.budget"].create({"name": "Nobody", "scope": "user", "limit": 10})


@tagged("post_install", "-at_install")
class TestUsageAccess(UsageCase):
    """Who reads which usage lines and budgets, and who sees the reports."""

    def test_users_read_their_own_lines_managers_all(self):
        mine, theirs = self.add_usage(self.user_a, 10), self.add_usage(self.user_b, 20)
        Usage = self.env["llm.usage"]
        self.assertEqual(Usage.with_user(self.user_a).search([("id", "in", (mine | theirs).ids)]),
                         mine)
        self.assertEqual(Usage.with_user(self.admin).search([("id", "in", (mine | theirs).ids)]),
                         mine | theirs)
        self.assertFalse(Usage.with_user(self.user_a).has_access("write"), "lines are read-only")
        self.assertFalse(self.env["llm.budget"].with_user(self.user_a).has_access("read"))

    def test_report_costs_carry_a_currency_sign_only_when_it_is_one(self):
        self.authenticate("llm_a", "llm_a_password_1")
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        self.assertEqual(info["llm_currency"], self.env.company.currency_id.name)
        euro = self.env.ref("base.EUR")
        euro.active = True
        other = self.env["res.company"].create({"name": "In euros", "currency_id": euro.id})
        self.user_a.company_ids |= other
        info = self.make_jsonrpc_request("/web/session/get_session_info", {})
        self.assertEqual(info["llm_currency"], "", "USD and EUR lines add up to no currency")

    def test_reporting_menu_and_views(self):
        usage_menu = self.env.ref("llm_thread.menu_llm_usage")
        budget_menu = self.env.ref("llm_thread.menu_llm_budget")
        for user, visible in ((self.user_a, False), (self.admin, True)):
            menus = self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()
            self.assertEqual(usage_menu.id in menus, visible, user.login)
            self.assertEqual(budget_menu.id in menus, visible, user.login)
        views = self.env["llm.usage"].with_user(self.admin).get_views(
            [(False, "pivot"), (False, "graph"), (False, "list"), (False, "search")])["views"]
        self.assertIn('interval="day"', views["pivot"]["arch"])
        self.assertIn("model_id", views["graph"]["arch"])


@tagged("post_install", "-at_install")
class TestAutoModel(TransactionCase):
    """The "Auto" model: the cheapest active chat model with what the thread needs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["llm.model"].search([]).active = False
        cls.user = new_test_user(cls.env, login="llm_auto", groups="base.group_user")
        provider = cls.env["llm.provider"].create({
            "name": "Auto", "base_url": "http://127.0.0.1:9/v1"})

        def model(name, price, window, tools=False, use="chat"):
            return cls.env["llm.model"].create({
                "name": name, "api_id": name, "provider_id": provider.id, "use": use,
                "input_price": price, "output_price": 2 * price, "context_window": window,
                "max_output_tokens": 100, "supports_tools": tools})

        cls.embedding = model("embed", 0.01, 100_000, use="embedding")
        cls.cheap = model("cheap", 0.1, 1_000)
        cls.tools = model("tools", 1.0, 1_000, tools=True)
        cls.big = model("big", 5.0, 200_000, tools=True)
        cls.thread = cls.env["llm.thread"].with_user(cls.user).create({
            "name": "Auto chat", "auto_model": True, "tool_names": []})

    def test_cheapest_without_tools(self):
        self.assertEqual(self.thread._llm_model_and_provider(),
                         (self.cheap, self.cheap.provider_id))

    def test_tools_need_a_model_with_tools(self):
        self.thread.tool_names = ["search_records"]
        self.assertEqual(self.thread._llm_auto_model(), self.tools)

    def test_long_history_needs_a_larger_window(self):
        self.thread._llm_create_message("user", "x" * 8000)
        self.assertEqual(self.thread._llm_auto_model(), self.big)

    def test_archived_models_are_skipped(self):
        self.cheap.active = False
        self.assertEqual(self.thread._llm_auto_model(), self.tools)

    def test_nothing_fits(self):
        self.thread._llm_create_message("user", "x" * 1_000_000)
        with self.assertRaises(UserError) as caught:
            self.thread._llm_auto_model()
        self.assertIn("context window", caught.exception.args[0])


@tagged("post_install", "-at_install")
class TestUsageTour(UsageCase, WireCase):
    """Usage, cost and a budget in LLM Chat, in the browser, against the fake provider."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider_record.default_model_id = cls.model
        # The budget's figures leave room for a prompt without an assistant's instructions.
        cls.env.ref("llm_thread.assistant_odoo_helper").is_default = False

    def test_usage_cost_warning_and_refusal(self):
        admin = self.env.ref("base.user_admin")
        self.env["llm.budget"].create({"name": "Admin tokens", "scope": "user",
                                       "user_id": admin.id, "unit": "tokens", "limit": 10_000})
        self.env["llm.usage"].create({
            "user_id": admin.id, "company_id": admin.company_id.id, "input_tokens": 8500,
            "total_tokens": 8500, "currency_id": admin.company_id.currency_id.id})
        self.fake.script("openai", [base.TextDelta("A priced answer."), base.Usage(1000, 600),
                                    base.Finish("stop")])
        self.start_tour("/odoo/llm-chat", "llm_thread_usage_budget", login="admin")
        self.assertEqual(len(self.fake.requests), 1, "the refused question sent no request")
        line = self.env["llm.usage"].search([("model_id.api_id", "=", "fake-model")])
        self.assertEqual((line.input_tokens, line.output_tokens), (1000, 600))

    def test_usage_report(self):
        self.add_usage(self.env.ref("base.user_admin"), 1234, cost=0.5)
        self.add_usage(self.env.ref("base.user_admin"), 0, cost=0.000444)
        self.start_tour("/odoo/action-llm_thread.action_llm_usage", "llm_thread_usage_report",
                        login="admin")
