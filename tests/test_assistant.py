"""Assistants and prompts: placeholders rendered as the reader, generation settings reaching
the request, tools and models enforced by the server, defaults and pickers, private prompts."""

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..models import llm_placeholders
from ..providers import base
from .engine_common import EngineCase, WireCase, answer


class AssistantData:
    """Users, and a partner whose parent (a company partner) belongs to a company they are
    not in."""

    @classmethod
    def setup_users(cls, prefix):
        cls.user = new_test_user(cls.env, login=f"{prefix}_user", groups="base.group_user")
        cls.other = new_test_user(cls.env, login=f"{prefix}_other", groups="base.group_user")
        cls.manager = new_test_user(cls.env, login=f"{prefix}_manager",
                                    groups="base.group_user,llm_thread.group_llm_manager")
        cls.setup_records()

    @classmethod
    def setup_records(cls):
        other_company = cls.env["res.company"].create({"name": "Elsewhere Ltd"})
        cls.hidden_parent = cls.env["res.partner"].create({
            "name": "Hidden Parent", "is_company": True, "company_id": other_company.id})
        cls.partner = cls.env["res.partner"].create({
            "name": "Visible Child", "parent_id": cls.hidden_parent.id, "function": "Buyer",
            "company_id": False})


@tagged("post_install", "-at_install")
class TestPlaceholders(AssistantData, TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_users("llm_ph")

    def render(self, text, record=None):
        env = self.env(user=self.user)
        return llm_placeholders.render(env, text, record and record.with_env(env))

    def test_fields_of_the_record_user_and_company(self):
        self.assertEqual(
            self.render("{{ record.name }} ({{ record.function }}) for {{ user.name }} at "
                        "{{ company.name }}; {{ related_model }} #{{ related_res_id }}",
                        self.partner),
            f"Visible Child (Buyer) for {self.user.name} at {self.user.company_id.name}; "
            f"res.partner #{self.partner.id}")
        # The seed's spelling, a selection's label, an empty field's default.
        self.assertEqual(self.render("{{ related_record.get_field('name') }}", self.partner),
                         "Visible Child")
        self.assertEqual(self.render("{{ record.type }}", self.partner), "Contact")
        self.assertEqual(self.render("{{ record.email ||| no email }}", self.partner), "no email")

    def test_what_the_reader_may_not_read_renders_empty(self):
        # The parent belongs to a company the user is not in: its name is not readable.
        with self.assertRaises(AccessError):
            self.hidden_parent.with_user(self.user).check_access("read")
        self.assertEqual(self.render("Parent: {{ record.parent_id.name }}.", self.partner),
                         "Parent: .")
        self.assertEqual(self.render("{{ record.parent_id ||| hidden }}", self.partner),
                         "hidden")
        # The same text as an administrator shows it: the reader's rights decide.
        self.assertEqual(llm_placeholders.render(self.env, "{{ record.parent_id.name }}",
                                                 self.partner), "Hidden Parent")

    def test_the_user_and_company_roots_read_as_the_reader_too(self):
        # Odoo gives env.user in sudo mode: walked from there, every step read as the
        # superuser (records of other companies, fields of group "no one", others' chats).
        self.user.partner_id.parent_id = self.hidden_parent
        self.assertEqual(self.render("{{ user.partner_id.parent_id.name ||| hidden }}"), "hidden")
        self.env.cr.execute("UPDATE res_users SET totp_secret = 'JBSWY3DPEHPK3PXP' "
                            "WHERE id IN %s", [(self.user.id, self.other.id)])
        self.assertEqual(self.render("{{ user.totp_secret ||| none }}"), "none")
        self.assertEqual(self.render("{{ company.user_ids.totp_secret ||| none }}"), "none")
        self.assertEqual(self.render("{{ user.name }} of {{ company.name }}"),
                         f"{self.user.name} of {self.user.company_id.name}")

    def test_nothing_is_evaluated(self):
        for text in ("{{ record.sudo().name }}", "{{ 1 + 1 }}", "{{ record.write({}) }}",
                     "{{ env['res.users'] }}", "{{ record.__class__ }}",
                     "{{ record.name.upper }}", "{{ record.unknown_field }}"):
            self.assertEqual(self.render(text, self.partner), "", text)
        self.assertEqual(self.render("{{ record.name }}"), "", "no linked record")

    def test_saving_refuses_a_field_that_does_not_exist(self):
        with self.assertRaisesRegex(ValidationError, r"\{\{ user\.nmae \}\} names nmae, which User"):
            self.env["llm.assistant"].create({"name": "A", "instructions": "Hi {{ user.nmae }}"})
        partner_model = self.env["ir.model"]._get("res.partner")
        Prompt = self.env["llm.prompt"]
        for text, message in (
                ("{{ record.nmae }}", "names nmae, which Contact does not have"),
                ("{{ object.env }}", "names env, which Contact does not have"),
                # Told where the path breaks: the model a relation leads to, not the first.
                ("{{ record.user_id.nmae }}", "names nmae, which User does not have"),
                ("{{ record.name.lower }}", "goes on after name, which is not a relation")):
            with self.subTest(text=text), self.assertRaisesRegex(ValidationError, message):
                Prompt.create({"name": "P", "text": text,
                               "res_model_ids": [(6, 0, partner_model.ids)]})
        Prompt.create({"name": "P", "text": "{{ record.parent_id.name }} {{ company.name }}",
                       "res_model_ids": [(6, 0, partner_model.ids)]})
        # Offered on any model: what the record has is known only when it is rendered.
        any_model = Prompt.create({"name": "P", "text": "{{ record.nmae }}"})
        with self.assertRaises(ValidationError, msg="checked again when its models are set"):
            any_model.res_model_ids = partner_model

    def test_saving_refuses_what_is_not_a_field_path(self):
        assistant = self.env["llm.assistant"].create({"name": "A", "instructions": "Hi"})
        with self.assertRaisesRegex(ValidationError, r"record\.sudo\(\)\.name"):
            assistant.instructions = "Hi {{ record.sudo().name }}"
        with self.assertRaises(ValidationError):
            self.env["llm.prompt"].create({"name": "P", "text": "{{ 2 * 3 }}"})


@tagged("post_install", "-at_install")
class TestAssistantInGeneration(AssistantData, EngineCase):
    """Instructions, tools and model of an assistant, enforced by the server at generation."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_records()
        cls.assistant = cls.env["llm.assistant"].create({
            "name": "Partner helper",
            "instructions": "Help {{ user.name }} with {{ record.name }} (parent "
                            "{{ record.parent_id.name ||| unknown }}).",
            "tool_ids": [(6, 0, cls.env.ref("llm_thread.tool_search_records").ids)],
        })

    def test_instructions_rendered_as_the_user(self):
        self.thread.write({"assistant_id": self.assistant.id, "res_model": "res.partner",
                           "res_id": self.partner.id, "system_prompt": "Be brief."})
        self.script(answer("ok"))
        self.generate(self.thread, "Hi")
        system = self.provider.requests[0]["messages"][0]
        self.assertEqual(system.role, "system")
        self.assertTrue(system.content.startswith(
            f"Help {self.user_a.name} with Visible Child (parent unknown).\n\nBe brief."),
            system.content)

    def test_tools_limited_to_the_assistant_s(self):
        # Written past the chat's checks (the ORM): the server still offers and runs only the
        # assistant's tools.
        self.thread.write({"assistant_id": self.assistant.id,
                           "tool_names": ["search_records", "count_records"]})
        self.script(answer("ok"))
        self.generate(self.thread, "Hi")
        self.assertEqual([tool.name for tool in self.provider.requests[0]["tools"]],
                         ["search_records"])
        count = self.env.ref("llm_thread.tool_count_records").with_user(self.user_a)
        with self.assertRaisesRegex(AccessError, "count_records is not enabled"):
            count._llm_execute({"model": "res.partner"}, self.thread.with_user(self.user_a), "c1")

    def test_tools_the_user_may_not_see_still_restrict(self):
        self.assistant.tool_ids = self.env.ref("llm_thread.tool_sql_query")  # managers only
        self.thread.write({"assistant_id": self.assistant.id, "tool_names": ["search_records"]})
        self.script(answer("ok"))
        self.generate(self.thread, "Hi")
        self.assertEqual(self.provider.requests[0]["tools"], [])

    def test_refused_when_the_user_may_not_use_the_assistant(self):
        self.assistant.group_ids = self.env.ref("base.group_system")
        self.thread.assistant_id = self.assistant
        self.script(answer("never"))
        response, _events = self.generate(self.thread, "Hi")
        self.assertEqual(response.status_code, 400)
        self.assertIn("Partner helper", response.json()["error"]["message"])
        self.assertEqual(self.provider.requests, [])
        with self.assertRaises(UserError):
            self.thread.with_user(self.user_a).llm_ui_set_assistant(self.assistant.id)

    def test_changes_apply_at_the_next_answer(self):
        # What each answer reads of assistants and tools is kept per process (_llm_settings,
        # _llm_catalogue): a manager's change still applies from the next answer on.
        self.thread.write({"assistant_id": self.assistant.id, "tool_names": ["search_records"]})
        self.script(answer("ok"))
        self.generate(self.thread, "Hi")
        self.env.ref("llm_thread.tool_search_records").description = "Finds records by name."
        self.script(answer("ok"))
        self.generate(self.thread, "Again")
        self.assertEqual([tool.description for tool in self.provider.requests[1]["tools"]],
                         ["Finds records by name."])
        self.assistant.group_ids = self.env.ref("base.group_system")
        self.script(answer("never"))
        response, _events = self.generate(self.thread, "Once more")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(len(self.provider.requests), 2)

    def test_offered_only_on_its_models(self):
        self.assistant.res_model_ids = self.env["ir.model"]._get("res.partner")
        self.thread.assistant_id = self.assistant
        self.script(answer("never"))
        response, _events = self.generate(self.thread, "Hi")
        self.assertEqual(response.status_code, 400, "the thread is about no partner")
        self.thread.write({"res_model": "res.partner", "res_id": self.partner.id})
        self.script(answer("ok"))
        response, _events = self.generate(self.thread, "Hi")
        self.assertEqual(response.status_code, 200)


@tagged("post_install", "-at_install")
class TestAssistantSettingsOnTheWire(WireCase):
    """An assistant's settings in the request the provider receives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assistant = cls.env["llm.assistant"].create({
            "name": "Precise", "custom_temperature": True, "temperature": 0.3,
            "max_tokens": 200, "reasoning_effort": "high"})
        cls.other_model = cls.env["llm.model"].create({
            "name": "Other", "api_id": "other-model", "provider_id": cls.provider_record.id})

    def reply(self):
        self.fake.script("openai", [base.TextDelta("ok"), base.Usage(5, 1),
                                    base.Finish("stop")])

    def test_settings_reach_the_request(self):
        self.thread.assistant_id = self.assistant
        self.reply()
        self.generate(self.thread, "Hi")
        body = self.fake.requests[-1].json
        self.assertEqual((body["temperature"], body["max_tokens"]), (0.3, 200))
        self.assertNotIn("reasoning_effort", body, "the model is not marked Reasoning")
        self.model.supports_reasoning = True
        self.reply()
        self.generate(self.thread, "Again")
        body = self.fake.requests[-1].json
        self.assertEqual(body["reasoning_effort"], "high")
        self.assertNotIn("temperature", body)

    def test_no_assistant_sends_no_setting(self):
        self.reply()
        self.generate(self.thread, "Hi")
        body = self.fake.requests[-1].json
        for key in ("temperature", "max_tokens", "reasoning_effort"):
            self.assertNotIn(key, body)

    def test_hard_budget_smaller_than_the_assistant_s_limit_wins(self):
        self.model.max_output_tokens = 100  # the reserve a call must fit in
        self.assistant.max_tokens = 5000
        self.thread.write({"assistant_id": self.assistant.id, "tool_names": []})
        self.env["llm.budget"].create({"name": "Tight", "scope": "user",
                                       "user_id": self.user_a.id, "unit": "tokens",
                                       "limit": 2000})
        self.reply()
        _response, events = self.generate(self.thread, "Hi")
        self.assertNotIn("error", dict(events))
        # What the budget leaves: its limit less the prompt, far below the assistant's 5,000.
        self.assertLess(self.fake.requests[-1].json["max_tokens"], 2000)

    def test_the_assistant_s_model_answers(self):
        self.assistant.model_id = self.other_model
        self.thread.assistant_id = self.assistant
        self.reply()
        self.generate(self.thread, "Hi")
        self.assertEqual(self.fake.requests[-1].json["model"], "other-model")


@tagged("post_install", "-at_install")
class TestAssistantPickers(AssistantData, TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_users("llm_pick")
        provider = cls.env["llm.provider"].create({"name": "P", "base_url": "http://x.invalid/v1"})
        cls.model_a = cls.env["llm.model"].create({"name": "A", "api_id": "a",
                                                   "provider_id": provider.id})
        cls.model_b = cls.env["llm.model"].create({"name": "B", "api_id": "b",
                                                   "provider_id": provider.id})
        provider.default_model_id = cls.model_a
        cls.general = cls.env.ref("llm_thread.assistant_odoo_helper")
        cls.partner_helper = cls.env["llm.assistant"].create({
            "name": "Contacts helper", "is_default": True, "model_id": cls.model_b.id,
            "res_model_ids": [(6, 0, cls.env["ir.model"]._get("res.partner").ids)],
            "tool_ids": [(6, 0, cls.env.ref("llm_thread.tool_read_record").ids)]})
        cls.admins_only = cls.env["llm.assistant"].create({
            "name": "Admins only", "group_ids": [(6, 0, cls.env.ref("base.group_system").ids)]})

    def threads(self, user=None):
        return self.env["llm.thread"].with_user(user or self.user)

    def test_an_embedding_model_cannot_answer(self):
        embedder = self.env["llm.model"].create({
            "name": "Embedder", "api_id": "embed-small", "use": "embedding",
            "provider_id": self.model_a.provider_id.id})
        with self.assertRaisesRegex(ValidationError, "must be a chat model; Embedder"):
            self.partner_helper.model_id = embedder

    def test_starter_prompts_take_no_placeholder(self):
        with self.assertRaisesRegex(ValidationError, "sent as written: they take no placeholder"):
            self.partner_helper.starter_prompts = "Summarise {{ record.name }}"

    def test_a_thinking_budget_below_anthropic_s_minimum_is_refused(self):
        assistant = self.env["llm.assistant"].create({"name": "Thinker", "thinking_budget": 1024})
        with self.assertRaisesRegex(ValidationError, "is 500 tokens: Anthropic takes 1024 at least"):
            assistant.thinking_budget = 500
        assistant.thinking_budget = 0  # from the reasoning effort

    def test_new_conversation_starts_with_the_default_of_its_model(self):
        plain = self.threads().llm_ui_create()
        self.assertEqual(plain["assistant_id"], self.general.id)
        self.assertEqual(plain["model_id"], self.model_a.id)
        linked = self.threads().llm_ui_create("res.partner", self.partner.id)
        self.assertEqual(linked["assistant_id"], self.partner_helper.id,
                         "one of the record's model beats the general one")
        self.assertEqual((linked["model_id"], linked["tool_names"]),
                         (self.model_b.id, ["read_record"]))

    def test_an_assistant_whose_model_the_user_cannot_use_is_not_offered(self):
        """Its model archived (or another company's): not offered, nor a new conversation's
        default, instead of failing at the first send; a conversation already on it shows
        the names the picker lacks."""
        linked = self.threads().llm_ui_create("res.partner", self.partner.id)
        self.model_b.active = False
        names = [a["name"] for a in self.threads().llm_ui_options()["assistants"]]
        self.assertNotIn("Contacts helper", names)
        self.assertEqual(self.threads().llm_ui_create("res.partner", self.partner.id)[
            "assistant_id"], self.general.id, "the next default")
        reopened = self.threads().browse(linked["id"]).llm_ui_load()
        self.assertEqual((reopened["assistant_name"], reopened["model_name"]),
                         ("Contacts helper", "B (P)"))
        self.assertIn("Its model B (P) is archived", self.partner_helper.model_warning,
                      "the assistant's form tells the manager")
        self.assertFalse(self.general.model_warning, "one without a model of its own: no alert")

    def test_options_list_the_assistants_the_user_may_use(self):
        names = [a["name"] for a in self.threads().llm_ui_options()["assistants"]]
        self.assertIn("Contacts helper", names)
        self.assertNotIn("Admins only", names)
        option = next(a for a in self.threads().llm_ui_options()["assistants"]
                      if a["id"] == self.general.id)
        self.assertIn("What can you do for me?", option["starter_prompts"])
        self.assertFalse(self.env["llm.assistant"].with_user(self.user).search(
            [("id", "=", self.admins_only.id)]), "the record rule hides it too")

    def test_pick_and_clear(self):
        data = self.threads().llm_ui_create()
        thread = self.threads().browse(data["id"])
        summariser = self.env.ref("llm_thread.assistant_record_summariser")
        summary = thread.llm_ui_set_assistant(summariser.id)
        self.assertEqual(sorted(summary["tool_names"]),
                         ["count_records", "read_record", "search_records"])
        self.assertFalse(thread.llm_ui_set_assistant(False)["assistant_id"])
        with self.assertRaises(UserError, msg="offered on partners only"):
            thread.llm_ui_set_assistant(self.partner_helper.id)
        other = self.threads(self.manager).llm_ui_create()
        with self.assertRaises(AccessError, msg="someone else's thread"):
            self.threads().browse(other["id"]).llm_ui_set_assistant(self.general.id)

    def test_the_model_an_assistant_sets_cannot_be_changed_under_it(self):
        data = self.threads().llm_ui_create("res.partner", self.partner.id)
        thread = self.threads().browse(data["id"])
        self.assertEqual((thread.assistant_id, thread.model_id), (self.partner_helper, self.model_b))
        for values in ({"model_id": self.model_a.id}, {"auto_model": True}):
            with self.subTest(values=values), self.assertRaisesRegex(
                    UserError, r'The assistant "Contacts helper" answers with B \(P\): pick another'):
                thread.llm_update(values)
        thread.llm_update({"model_id": self.model_b.id, "name": "Same model"})
        thread.llm_ui_set_assistant(False)
        thread.llm_update({"model_id": self.model_a.id})
        self.assertEqual(thread.model_id, self.model_a, "free again without the assistant")

    def test_only_managers_write_assistants(self):
        with self.assertRaises(AccessError):
            self.general.with_user(self.user).instructions = "Obey me"
        self.general.with_user(self.manager).description = "Edited"


@tagged("post_install", "-at_install")
class TestPrompts(AssistantData, TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_users("llm_prompt")

    def test_suggestions_rendered_for_the_record(self):
        threads = self.env["llm.thread"].with_user(self.user)
        prompts = {p["name"]: p["text"]
                   for p in threads.llm_ui_prompts("res.partner", self.partner.id)}
        self.assertIn("Visible Child", prompts["Summarise this record"])
        self.assertIn(f"res_id {self.partner.id}", prompts["Draft a reply to the last email"])
        self.assertIn("What should I do next?", prompts)
        only_users = self.env["llm.prompt"].create({
            "name": "Users only", "text": "x",
            "res_model_ids": [(6, 0, self.env["ir.model"]._get("res.users").ids)]})
        self.assertNotIn(only_users.name, [
            p["name"] for p in threads.llm_ui_prompts("res.partner", self.partner.id)])

    def test_a_prompt_kept_for_actions_is_not_suggested(self):
        """A prompt an automation runs (Run Assistant) need not be offered to every user."""
        threads = self.env["llm.thread"].with_user(self.user)
        for_actions = self.env["llm.prompt"].create({
            "name": "Guess job title", "text": "Guess the job title of {{ record.name }}.",
            "suggested": False})
        self.assertNotIn(for_actions.name, [
            p["name"] for p in threads.llm_ui_prompts("res.partner", self.partner.id)])

    def test_no_suggestions_where_the_record_cannot_be_read(self):
        # Opening a conversation whose record was deleted, or which the user can no longer
        # read (another company's), shows it without prompts instead of failing.
        threads = self.env["llm.thread"].with_user(self.user)
        gone = self.env["res.partner"].create({"name": "Gone"})
        gone_id = gone.id
        gone.unlink()
        self.assertEqual(threads.llm_ui_prompts("res.partner", gone_id), [])
        parameter = self.env["ir.config_parameter"].search([], limit=1)
        self.assertEqual(threads.llm_ui_prompts("ir.config_parameter", parameter.id), [])
        self.assertEqual(threads.llm_ui_prompts("no.such.model", 1), [])

    def test_a_prompt_that_renders_empty_is_not_offered(self):
        self.env["llm.prompt"].create({"name": "Nothing here", "text": "{{ record.ref }}"})
        self.assertFalse(self.partner.ref)
        names = [p["name"] for p in self.env["llm.thread"].with_user(self.user).llm_ui_prompts(
            "res.partner", self.partner.id)]
        self.assertNotIn("Nothing here", names)
        self.assertIn("Summarise this record", names)

    def test_prompts_needing_no_record_are_offered_in_the_chat(self):
        """The LLM Chat app's conversations are about no record: a prompt applying to every
        record is offered there, unless it names the record (it would come out empty)."""
        mine = self.env["llm.prompt"].with_user(self.user).create(
            {"name": "Plan my week", "text": "Plan the week of {{ user.name }}."})
        self.assertEqual(mine.user_id, self.user)
        self.env["llm.prompt"].with_user(self.user).create(
            {"name": "Partners only", "text": "Plan my week.",
             "res_model_ids": [(6, 0, self.env["ir.model"]._get("res.partner").ids)]})
        offered = {p["name"]: p["text"]
                   for p in self.env["llm.thread"].with_user(self.user).llm_ui_prompts(False, False)}
        self.assertEqual(offered, {"Plan my week": f"Plan the week of {self.user.name}."},
                         "the shipped prompts name the record; one for partners needs one")
        self.assertFalse(self.env["llm.thread"].with_user(self.other).llm_ui_prompts(False, False),
                         "a private prompt stays its owner's")

    def test_private_prompts(self):
        Prompt = self.env["llm.prompt"]
        mine = Prompt.with_user(self.user).create({"name": "Mine", "text": "{{ record.name }}"})
        self.assertEqual(mine.user_id, self.user, "a user's prompt is private")
        self.assertFalse(Prompt.with_user(self.other).search([("id", "=", mine.id)]))
        self.assertFalse(Prompt.with_user(self.manager).search([("id", "=", mine.id)]))
        with self.assertRaises(AccessError, msg="only managers share prompts"):
            Prompt.with_user(self.user).create({"name": "Shared", "text": "x", "user_id": False})
        shared = self.env.ref("llm_thread.prompt_summarise")
        with self.assertRaises(AccessError):
            shared.with_user(self.user).text = "Changed"
        shared.with_user(self.manager).text = "Summarise {{ record.display_name }} briefly."
        self.assertFalse(Prompt.with_user(self.manager).create({"name": "S", "text": "x"}).user_id)
