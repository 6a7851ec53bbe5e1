"""The "Run Assistant" server action: from an automation rule (Odoo's ``base_automation``,
installed in the test database by the harness) and from the Action menu, as the acting user,
through the real engine and the run API, with the scripted provider in place of the network.

Each action runs in a cursor of its own, as a request or a job would: a run starts at its
commit (``_llm_start``) and goes on in its own thread; the test waits for its end (``wait``)
before looking at what was delivered."""

import time
from contextlib import contextmanager

from lxml import html as lxml_html

import json

from odoo import Command, api
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from ..providers import Finish, TextDelta, Usage, base, errors
from ..engine import runtime
from ..engine.turn import message_text
from .engine_common import WAIT, EngineCase, Gate, answer
from .fake_provider import FakeProviderCase, StreamedToolCall


def asks(call_id, name, **arguments):
    return [base.ToolCallEvent(base.ToolCall(call_id, name, arguments)), base.Usage(5, 5),
            base.Finish("tool_calls")]


def record_runs(case):
    """The list of the runs ``_llm_start`` starts during ``case``'s test, in order (the method
    is wrapped, not replaced)."""
    runs = []
    thread_class = type(case.env["llm.thread"])
    start = thread_class._llm_start

    def recording_start(thread, *args, **kwargs):
        run = start(thread, *args, **kwargs)
        runs.append(run)
        return run

    case.patch(thread_class, "_llm_start", recording_start)
    return runs


@tagged("post_install", "-at_install")
class TestRunAssistantAction(EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "base.automation" not in cls.env:
            raise AssertionError("These tests need Odoo's base_automation module: "
                                 "`npm run test:odoo` installs it in the test database.")
        # A creates and edits contacts; B only reads them.
        cls.user_a.groups_id += cls.env.ref("base.group_partner_manager")
        cls.partner_model = cls.env["ir.model"]._get("res.partner")
        cls.assistant = cls.env["llm.assistant"].create({
            "name": "Contact helper", "instructions": "You help with contacts.",
            "model_id": cls.model.id})
        cls.prompt = cls.env["llm.prompt"].create({
            "name": "Describe", "user_id": False,
            "text": "Describe {{ record.name }} ({{ record.function ||| no job }})."})
        cls.partner = cls.env["res.partner"].create({"name": "Alice A", "function": "Buyer"})

    def setUp(self):
        super().setUp()
        self.runs = record_runs(self)

    def action(self, **values):
        return self.env["ir.actions.server"].create({
            "name": "Ask the helper", "model_id": self.partner_model.id,
            "state": "llm_assistant", "llm_assistant_id": self.assistant.id,
            "llm_prompt_id": self.prompt.id, **values})

    @contextmanager
    def user_env(self, user):
        """An environment of ``user`` on a cursor of its own; on leaving it (its commit),
        the runs it started go on, and are waited for."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            yield api.Environment(cr, user.id, {})
        self.ended = [run.wait(WAIT) for run in self.runs]
        self.runs.clear()
        self.env.invalidate_all()

    def run_action(self, action, user, records):
        with self.user_env(user) as env:
            return action.with_env(env).with_context(
                active_model=records._name, active_ids=records.ids, active_id=records[:1].id,
            ).run()

    def thread_of(self, record):
        return self.env["llm.thread"].search([("res_model", "=", record._name),
                                              ("res_id", "=", record.id)], order="id desc",
                                             limit=1)

    def notes(self, record):
        return record.message_ids.filtered(
            lambda m: m.message_type == "comment"
            and m.subtype_id == self.env.ref("mail.mt_note")).sorted("id")

    def answer_error(self, thread):
        answer = self.messages(thread, "assistant")[-1:]
        return ((answer.body_json or {}).get("error") or {}).get("message", "")

    def test_automation_rule_on_creation_posts_a_note(self):
        rule = self.env["base.automation"].create({
            "name": "Describe new contacts", "trigger": "on_create_or_write",
            "model_id": self.partner_model.id})
        rule.action_server_ids = [Command.link(self.action(base_automation_id=rule.id).id)]
        self.script(answer("Bob is a **buyer**", " at Azure."))
        with self.user_env(self.user_a) as env:
            bob = env["res.partner"].create({"name": "Bob B", "function": "Buyer"})
            bob_id = bob.id
        # One run: base_automation runs this rule twice on this creation (a second time from
        # a recompute), the action starts once per record.
        self.assertEqual(self.ended, ["idle"])
        bob = self.env["res.partner"].browse(bob_id)
        thread = self.thread_of(bob)
        self.assertEqual((thread.user_id, thread.assistant_id, thread.generation_state),
                         (self.user_a, self.assistant, "idle"))
        # The prompt filled from the new record, as A; the model told where its answer goes.
        request = self.provider.requests[0]["messages"]
        self.assertEqual(request[-1].content, "Describe Bob B (Buyer).")
        self.assertIn("You help with contacts.", request[0].content)
        self.assertIn("posted as it is as a note", request[0].content)
        note = self.notes(bob)[-1]
        self.assertEqual(note.author_id, self.user_a.partner_id)
        body = lxml_html.fromstring(note.body)
        self.assertEqual(body.xpath("string(//strong)"), "buyer", "markdown became HTML")
        self.assertIn("Contact helper (AI):", body.text_content())
        self.assertIn("Bob is a buyer at Azure.", body.text_content())
        self.assertFalse(thread.llm_delivery, "delivered once")

    def test_the_owner_is_told_of_the_end_once_the_note_exists(self):
        """The chatter of the record open in a tab fetches its messages when told a run of its
        user ended: the last notice comes once the note is there to fetch."""
        notices = []
        notify = type(self.env["llm.thread"])._llm_notify_state

        def recording(threads):
            partner = threads.env["res.partner"].browse(self.partner.id)
            notices.append((threads.generation_state, len(self.notes(partner))))
            return notify(threads)

        self.patch(type(self.env["llm.thread"]), "_llm_notify_state", recording)
        self.script(answer("Alice buys."))
        result = self.run_action(self.action(), self.user_a, self.partner)
        self.assertIn("was asked about one record: its answer", result["params"]["message"])
        self.assertEqual(self.ended, ["idle"])
        self.assertEqual(notices[-1], ("idle", 1))

    def test_conversations_are_named_after_the_action_or_its_prompt(self):
        for name, expected in (("Ask the helper", "Ask the helper: Alice A"),
                               # base_automation's name for an action of a rule.
                               ("Run Assistant", "Describe: Alice A")):
            self.script(answer("Done."))
            self.run_action(self.action(name=name), self.user_a, self.partner)
            self.assertEqual(self.thread_of(self.partner).name, expected)

    def test_an_unnamed_action_is_named_after_its_assistant_and_prompt(self):
        other_prompt = self.env["llm.prompt"].create({
            "name": "Guess the job", "user_id": False, "text": "Job of {{ record.name }}?"})
        rule = self.env["base.automation"].create({
            "name": "Describe new contacts", "trigger": "on_create_or_write",
            "model_id": self.partner_model.id})
        # An action added to the rule in its dialog, which hides the name (base_automation
        # names it after its type).
        with Form(self.env["ir.actions.server"].with_context(
                default_model_id=self.partner_model.id, default_base_automation_id=rule.id,
                default_usage="base_automation"),
                view="base_automation.ir_actions_server_view_form_automation") as form:
            form.state = "llm_assistant"
            form.llm_assistant_id = self.assistant
            form.llm_prompt_id = self.prompt
        in_rule = form.record
        self.assertEqual(in_rule.name, "Run Assistant: Contact helper — Describe")
        # A server action left unnamed in its form: the name its hint showed.
        with Form(self.env["ir.actions.server"].with_context(
                default_model_id=self.partner_model.id)) as form:
            form.state = "llm_assistant"
            form.llm_assistant_id = self.assistant
            form.llm_prompt_id = other_prompt
            self.assertFalse(form.name)
            self.assertEqual(form.llm_default_name, "Run Assistant: Contact helper — Guess the job")
        unnamed = form.record
        self.assertEqual(unnamed.name, "Run Assistant: Contact helper — Guess the job")
        named = self.action()

        # The default name follows the prompt and the assistant; a name of the user's stays.
        (in_rule | unnamed | named).llm_prompt_id = other_prompt
        self.assertEqual(in_rule.name, "Run Assistant: Contact helper — Guess the job")
        self.assertEqual(named.name, "Ask the helper")
        self.assistant.copy({"name": "Job helper"})
        with Form(unnamed) as form:
            form.llm_assistant_id = self.env["llm.assistant"].search([("name", "=", "Job helper")])
        self.assertEqual(unnamed.name, "Run Assistant: Job helper — Guess the job")
        unnamed.write({"name": "Guess jobs", "llm_prompt_id": self.prompt.id})
        self.assertEqual(unnamed.name, "Guess jobs")

        # Its conversations are named after the prompt alone.
        self.script(answer("Buyer."))
        self.run_action(in_rule, self.user_a, self.partner)
        self.assertEqual(self.thread_of(self.partner).name, "Guess the job: Alice A")

    def test_an_action_created_in_a_rule_by_rpc_gets_the_same_name(self):
        """Created by RPC (the external API, a script) rather than in the rule's dialog: the
        same name as from the dialog, however the action reaches the rule."""
        expected = "Run Assistant: Contact helper — Describe"
        values = {"model_id": self.partner_model.id, "state": "llm_assistant",
                  "llm_assistant_id": self.assistant.id, "llm_prompt_id": self.prompt.id}
        rule = self.env["base.automation"].create({
            "name": "Describe new contacts", "trigger": "on_create_or_write",
            "model_id": self.partner_model.id, "action_server_ids": [Command.create(values)]})
        rule.write({"action_server_ids": [Command.create(dict(values, name=""))]})
        self.env["ir.actions.server"].create(dict(values, base_automation_id=rule.id))
        self.env["ir.actions.server"].create(dict(values, base_automation_id=rule.id,
                                                  name="Run Assistant"))
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(rule.action_server_ids.mapped("name"), [expected] * 4)

    def test_a_delivered_answer_does_not_trigger_its_rule_again(self):
        function = self.env["ir.model.fields"]._get("res.partner", "function")
        rule = self.env["base.automation"].create({
            "name": "Guess the job", "trigger": "on_create_or_write",
            "model_id": self.partner_model.id, "trigger_field_ids": function.ids})
        rule.action_server_ids = [Command.link(self.action(
            base_automation_id=rule.id, llm_target="field", llm_target_field_id=function.id).id)]
        self.script(answer("Buyer"))
        with self.user_env(self.user_a) as env:
            carol = env["res.partner"].create({"name": "Carol C"})
            carol_id = carol.id
        carol = self.env["res.partner"].browse(carol_id)
        # The answer wrote the very field the rule watches: no second conversation.
        self.assertEqual(carol.function, "Buyer")
        self.assertEqual(self.env["llm.thread"].search_count([
            ("res_model", "=", "res.partner"), ("res_id", "=", carol_id)]), 1)
        self.assertEqual(len(self.provider.requests), 1)

    def test_field_target_validates_the_answer(self):
        action = self.action(llm_target="field", llm_target_field_id=self.env[
            "ir.model.fields"]._get("res.partner", "type").id)
        # A label, with the decoration models add around a lone value.
        self.script(answer("**Invoice Address**."))
        self.run_action(action, self.user_a, self.partner)
        self.assertEqual(self.ended, ["idle"])
        self.assertEqual(self.partner.type, "invoice")
        self.assertIn("It must be one of: Contact, Invoice Address",
                      self.provider.requests[0]["messages"][0].content)

        self.script(answer("Probably the billing one"))
        self.run_action(action, self.user_a, self.partner)
        thread = self.thread_of(self.partner)
        self.assertEqual(self.partner.type, "invoice", "a refused answer changes nothing")
        self.assertEqual(thread.generation_state, "error")
        self.assertIn('The answer "Probably the billing one" is not a value of the field '
                      'Address Type, which takes one of: Contact, Invoice Address',
                      self.answer_error(thread))
        self.assertEqual(thread.generation_error, self.answer_error(thread))
        self.assertFalse(self.notes(self.partner), "the field target posts no note")

    def test_retry_of_a_refused_answer_delivers_it(self):
        action = self.action(llm_target="field", llm_target_field_id=self.env[
            "ir.model.fields"]._get("res.partner", "type").id)
        self.script(answer("Probably the billing one"))
        self.run_action(action, self.user_a, self.partner)
        thread = self.thread_of(self.partner)
        self.assertEqual(thread.generation_state, "error")
        self.assertEqual(self.partner.type, "contact")
        self.assertEqual(thread.llm_delivery, "field", "still to be delivered")

        # Retry (the panel's button regenerates the failed answer): the new answer is written.
        failed = self.messages(thread, "assistant")[-1]
        self.script(answer("Invoice Address"))
        with self.user_env(self.user_a) as env:
            thread.with_env(env)._llm_start(regenerate_message_id=failed.id)
        self.assertEqual(self.ended, ["idle"])
        self.assertEqual(thread.generation_state, "idle")
        self.assertEqual(self.partner.type, "invoice")
        self.assertFalse(thread.llm_delivery)

        # Delivered once: a later question in the conversation writes nothing.
        self.script(answer("Delivery Address"))
        with self.user_env(self.user_a) as env:
            thread.with_env(env)._llm_start("And if it were for shipping?")
        self.assertEqual(self.ended, ["idle"])
        self.assertEqual(self.partner.type, "invoice")

    def test_number_fields(self):
        color = self.env["ir.model.fields"]._get("res.partner", "color")
        latitude = self.env["ir.model.fields"]._get("res.partner", "partner_latitude")
        for field, text, expected in ((color, "`42`", 42), (latitude, "-12.5.", -12.5)):
            self.script(answer(text))
            self.run_action(self.action(llm_target="field", llm_target_field_id=field.id),
                            self.user_a, self.partner)
            self.assertEqual(self.partner[field.name], expected)
        self.script(answer("about forty"))
        self.run_action(self.action(llm_target="field", llm_target_field_id=color.id),
                        self.user_a, self.partner)
        self.assertEqual(self.partner.color, 42)
        self.assertIn("is not a whole number", self.answer_error(self.thread_of(self.partner)))

    def test_text_fields(self):
        function = self.env["ir.model.fields"]._get("res.partner", "function")
        comment = self.env["ir.model.fields"]._get("res.partner", "comment")
        for field, text, expected in (
                # A one-line value loses what models wrap it in, and a period after that.
                (function, "**Chief Desk Officer**.", "Chief Desk Officer"),
                (function, '"Head buyer"', "Head buyer"),
                (function, "Acme Inc.", "Acme Inc."),
                # HTML gets the markdown rendered.
                (comment, "**Loyal** customer.", "<p><strong>Loyal</strong> customer.</p>")):
            self.script(answer(text))
            self.run_action(self.action(llm_target="field", llm_target_field_id=field.id),
                            self.user_a, self.partner)
            self.assertEqual(self.partner[field.name], expected)

    def test_tool_needing_approval_waits_then_delivers(self):
        self.assistant.tool_ids = self.env.ref("llm_thread.tool_update_record")
        self.script(asks("w1", "update_record", model="res.partner", id=self.partner.id,
                         values={"function": "Head buyer"}))
        self.run_action(self.action(), self.user_a, self.partner)
        self.assertEqual(self.ended, ["approval"])
        thread = self.thread_of(self.partner)
        self.assertEqual(thread.generation_state, "approval")
        self.assertEqual(self.partner.function, "Buyer", "nothing runs before the approval")
        self.assertFalse(self.notes(self.partner), "nothing delivered while waiting")
        self.assertEqual(thread.llm_delivery, "note")

        # A approves (in the AI panel or LLM Chat), which resumes the run.
        self.script(answer("Promoted to head buyer."))
        with self.user_env(self.user_a) as env:
            mine = thread.with_env(env)
            mine._llm_decide("w1", True)
            mine._llm_start()
        self.assertEqual(self.ended, ["idle"])
        self.assertEqual(self.partner.function, "Head buyer")
        self.assertIn("Promoted to head buyer.", self.notes(self.partner)[-1].body)
        self.assertFalse(thread.llm_delivery)

    def test_the_acting_users_rights_apply(self):
        # Allowed to every internal user, so run() leaves the rights to the delivery: B may
        # read contacts, not write them.
        action = self.action(llm_target="field", groups_id=self.env.ref("base.group_user").ids,
                             llm_target_field_id=self.env["ir.model.fields"]._get(
                                 "res.partner", "function").id)
        self.script(answer("Chief buyer"))
        self.run_action(action, self.user_b, self.partner)
        thread = self.thread_of(self.partner)
        self.assertEqual(thread.user_id, self.user_b)
        self.assertEqual(self.partner.function, "Buyer")
        self.assertEqual(thread.generation_state, "error")
        self.assertIn("The answer could not be written into the field Job Position: You are "
                      "not allowed to modify 'Contact' (res.partner) records",
                      self.answer_error(thread))

    def test_odoobot_runs_it_as_the_run_as_user_never_as_superuser(self):
        """Scheduled actions, rules on a date and incoming emails run as OdooBot, which Odoo
        always makes the superuser: the answer gets the Run As user's rights instead, or
        does not run."""
        odoobot = self.env.ref("base.user_root")
        action = self.action(llm_target="field", llm_target_field_id=self.env[
            "ir.model.fields"]._get("res.partner", "function").id)
        self.assertFalse(action.llm_run_as_id, "created by the superuser: nobody to run as")
        self.run_action(action, odoobot, self.partner)
        self.assertFalse(self.thread_of(self.partner))
        self.assertEqual(self.ended, [])
        self.assertIn("did not run: it was started as OdooBot, the superuser",
                      self.notes(self.partner)[-1].body)
        # Run as B, who may read contacts, not write them: B's rights, not the superuser's.
        action.llm_run_as_id = self.user_b
        self.script(answer("Chief buyer"))
        self.run_action(action, odoobot, self.partner)
        thread = self.thread_of(self.partner)
        self.assertEqual(thread.user_id, self.user_b)
        self.assertEqual(self.partner.function, "Buyer")
        self.assertIn("You are not allowed to modify 'Contact' (res.partner) records",
                      self.answer_error(thread))
        # Whoever sets an action up is who it runs as by default.
        admin = self.env.ref("base.user_admin")
        by_admin = self.env["ir.actions.server"].with_user(admin).create({
            "name": "By admin", "model_id": self.partner_model.id, "state": "llm_assistant",
            "llm_assistant_id": self.assistant.id, "llm_prompt_id": self.prompt.id})
        self.assertEqual(by_admin.llm_run_as_id, admin)

    def test_a_user_without_conversations_is_skipped(self):
        portal = new_test_user(self.env, login="llm_portal", groups="base.group_portal")
        action = self.action(groups_id=self.env.ref("base.group_portal").ids)
        with self.user_env(portal) as env:
            result = action.with_env(env).with_context(
                active_model="res.partner", active_ids=self.partner.ids,
                active_id=self.partner.id).run()
        self.assertIn("asked about 0 records: each answer", result["params"]["message"])
        self.assertFalse(self.thread_of(self.partner))
        self.assertEqual(self.ended, [])

    def test_errors_end_in_the_thread_and_a_note(self):
        # The provider fails: the run's error, as the chat shows it, and a note saying why in
        # the terms of everyone following the record: the provider's URL and where to
        # configure it stay in the conversation.
        self.script([errors.refused("Scripted", url="http://127.0.0.1:9/v1/chat/completions",
                                    detail="Connection refused")])
        self.run_action(self.action(), self.user_a, self.partner)
        self.assertEqual(self.ended, ["error"])
        thread = self.thread_of(self.partner)
        self.assertIn("refused the connection to http://127.0.0.1:9/v1/chat/completions",
                      thread.generation_error)
        note = lxml_html.fromstring(self.notes(self.partner)[-1].body).text_content()
        self.assertIn("The AI did not answer: The AI service could not be reached. The "
                      "details are in the conversation, in the AI panel.", note)
        self.assertNotIn("127.0.0.1", note)
        self.assertNotIn("Configuration", note)

        # Refused before any call (the assistant is not for A): the question and the refusal
        # are kept in the conversation.
        self.assistant.group_ids = self.env.ref("base.group_system")
        self.run_action(self.action(), self.user_a, self.partner)
        self.assertEqual(self.ended, [], "no run started")
        thread = self.thread_of(self.partner)
        self.assertEqual([m.llm_role for m in self.messages(thread)], ["user", "assistant"])
        self.assertIn("is not available to you", self.answer_error(thread))
        self.assertEqual(thread.generation_state, "error")
        self.assertIn("The AI did not answer: The assistant \"Contact helper\" is not "
                      "available to you", lxml_html.fromstring(
                          self.notes(self.partner)[-1].body).text_content())
        self.assertEqual(len(self.provider.requests), 1)

    def test_one_failure_note_per_answer_to_deliver(self):
        """Retries of a failed answer leave one failure note on the record, with the latest
        reason; the delivered answer removes it."""
        def shown(record):  # what the chatter shows: the notes not removed (emptied)
            return [lxml_html.fromstring(note.body).text_content() for note in
                    self.notes(record) - self.notes(record)._filter_empty()]

        def retry(thread):
            failed = self.messages(thread, "assistant")[-1]
            with self.user_env(self.user_a) as env:
                thread.with_env(env)._llm_start(regenerate_message_id=failed.id)

        refused = errors.refused("Scripted", url="http://127.0.0.1:9/v1/chat/completions")
        self.script([refused])
        self.run_action(self.action(), self.user_a, self.partner)
        thread = self.thread_of(self.partner)
        self.assertEqual(len(shown(self.partner)), 1)
        first = self.notes(self.partner)

        # The same failure again: nothing new on the record.
        self.script([refused])
        retry(thread)
        self.assertEqual(self.ended, ["error"])
        self.assertEqual(self.notes(self.partner), first)

        # Another failure: its note replaces the first one.
        self.script([errors.read_timeout("Scripted", seconds=120)])
        retry(thread)
        self.assertEqual(self.ended, ["error"])
        notes = shown(self.partner)
        self.assertEqual(len(notes), 1, notes)
        self.assertIn("The AI did not answer: The AI service took too long to answer.",
                      notes[0])
        self.assertEqual(first._filter_empty(), first,
                         "removed as the chatter's Delete removes it (emptied)")

        # Delivered at last: the answer alone on the record.
        self.script(answer("Alice buys paper."))
        retry(thread)
        self.assertEqual(self.ended, ["idle"])
        notes = shown(self.partner)
        self.assertEqual(len(notes), 1, notes)
        self.assertIn("Alice buys paper.", notes[0])
        self.assertFalse(thread.llm_delivery)

    def test_a_user_who_may_not_post_still_gets_the_failure_note(self):
        # Odoo refuses a message from a user without an email address: the answer is kept
        # in the conversation with why, and the record's note saying so is posted in their
        # name all the same.
        self.user_a.email = False
        self.script(answer("A loyal buyer."))
        self.run_action(self.action(), self.user_a, self.partner)
        self.assertEqual(self.ended, ["idle"])
        thread = self.thread_of(self.partner)
        self.assertEqual(thread.generation_state, "error")
        self.assertIn("configure the sender's email address", self.answer_error(thread))
        note = self.notes(self.partner)[-1:]
        self.assertEqual(note.author_id, self.user_a.partner_id)
        self.assertIn("The AI's answer could not be posted here: Unable to send message, "
                      "please configure the sender's email address. The answer is in the "
                      "conversation", lxml_html.fromstring(note.body).text_content())
        self.assertNotIn("A loyal buyer", note.body)

    def start_on_records(self, action, user, records):
        """Run ``action`` on ``records`` as ``user`` and commit, without waiting for the runs."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            action.with_env(api.Environment(cr, user.id, {})).with_context(
                active_model=records._name, active_ids=records.ids, active_id=records[:1].id,
            ).run()

    def wait_until_waiting(self, count):
        """Wait (bounded) until ``count`` runs wait for their turn."""
        deadline = time.monotonic() + WAIT
        while runtime.action_turns.waiting() != count and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(runtime.action_turns.waiting(), count)

    def test_runs_on_many_records_take_turns(self):
        """An action on many records asks the model for a few records at a time, the others
        waiting their turn in order, instead of sending every request at once."""
        self.env["ir.config_parameter"].set_param("llm_thread.action_runs_at_once", "2")
        gates = [Gate(), Gate()]
        self.provider.scripts = [
            [TextDelta("First"), gates[0], Usage(5, 5), Finish("stop")],
            [TextDelta("Second"), gates[1], Usage(5, 5), Finish("stop")],
            answer("Third"), answer("Fourth")]
        partners = self.env["res.partner"].create([{"name": f"Turn {n}"} for n in range(4)])
        self.start_on_records(self.action(), self.user_a, partners)
        self.assertTrue(all(gate.reached.wait(WAIT) for gate in gates))
        self.wait_until_waiting(2)
        self.assertEqual(len(self.provider.requests), 2, "two at once, the others wait")
        gates[0].open()
        self.wait_until_waiting(0)  # one turn freed: the next run took it
        gates[1].open()
        self.assertEqual([run.wait(WAIT) for run in self.runs], ["idle"] * 4)
        self.assertEqual(len(self.provider.requests), 4)
        self.assertEqual(
            sorted(request["messages"][-1].content for request in self.provider.requests),
            [f"Describe Turn {n} (no job)." for n in range(4)])
        self.env.invalidate_all()
        self.assertEqual(sorted(message_text(self.messages(self.thread_of(partner), "assistant"))
                                for partner in partners), ["First", "Fourth", "Second", "Third"])

    def test_a_run_stopped_while_waiting_its_turn_never_asks_the_model(self):
        self.env["ir.config_parameter"].set_param("llm_thread.action_runs_at_once", "1")
        gate = Gate()
        self.provider.scripts = [[TextDelta("First"), gate, Usage(5, 5), Finish("stop")]]
        partners = self.env["res.partner"].create([{"name": "Turn A"}, {"name": "Turn B"}])
        self.start_on_records(self.action(), self.user_a, partners)
        self.assertTrue(gate.reached.wait(WAIT))
        self.wait_until_waiting(1)
        # B's, or A's when B's run came first to the gate.
        first = self.provider.requests[0]["messages"][-1].content
        waiting = partners[1] if first.startswith("Describe Turn A") else partners[0]
        # Through a cursor of its own, as the runs' transactions (the test's own cursor is
        # not for a thread to use while runs use the connection).
        with self.registry.cursor() as cr:
            thread = api.Environment(cr, self.user_a.id, {})["llm.thread"].search(
                [("res_model", "=", "res.partner"), ("res_id", "=", waiting.id)])
            self.assertEqual(thread.generation_state, "generating")
            thread.action_stop()
        # It ends while the first run still holds the only turn.
        stopped = next(run for run in self.runs if run.thread_id == thread.id)
        self.assertEqual(stopped.wait(WAIT), "idle")
        self.assertFalse(gate.opened.is_set())
        self.assertEqual(runtime.action_turns.waiting(), 0)
        gate.open()
        self.assertEqual([run.wait(WAIT) for run in self.runs], ["idle", "idle"])
        self.assertEqual(len(self.provider.requests), 1, "the stopped run asked nothing")
        self.env.invalidate_all()
        thread = self.thread_of(waiting)
        self.assertEqual(len(self.messages(thread, "user")), 1, "its question is kept")
        self.assertFalse(self.messages(thread, "assistant"))

    def test_a_scheduled_action_cannot_run_an_assistant_on_no_record(self):
        """It would run, find no record, and do nothing every time without a word."""
        with self.assertRaisesRegex(ValidationError, "automation rule on their model with a "
                                                     "time trigger"):
            self.env["ir.cron"].create({
                "name": "Nightly summary", "model_id": self.partner_model.id,
                "state": "llm_assistant", "llm_assistant_id": self.assistant.id,
                "llm_prompt_id": self.prompt.id, "interval_type": "days"})
        cron = self.env["ir.cron"].create({
            "name": "Nightly code", "model_id": self.partner_model.id, "state": "code",
            "code": "pass", "interval_type": "days"})
        with self.assertRaises(ValidationError):
            cron.write({"state": "llm_assistant", "llm_assistant_id": self.assistant.id,
                        "llm_prompt_id": self.prompt.id})

    def test_configuration_is_checked(self):
        with self.assertRaisesRegex(ValidationError, "choose the assistant, the prompt"):
            self.action(llm_prompt_id=False)
        with self.assertRaisesRegex(ValidationError, "choose a text, HTML"):
            self.action(llm_target="field", llm_target_field_id=self.env[
                "ir.model.fields"]._get("res.partner", "parent_id").id)
        action = self.env["ir.actions.server"].create({
            "name": "On currencies", "model_id": self.env["ir.model"]._get("res.currency").id,
            "state": "llm_assistant", "llm_assistant_id": self.assistant.id,
            "llm_prompt_id": self.prompt.id})
        self.assertEqual(action.llm_target, "thread", "no chatter: no note by default")
        with self.assertRaisesRegex(ValidationError, "have no chatter"):
            action.llm_target = "note"

    def test_a_prompt_or_assistant_used_by_an_action_is_not_deleted(self):
        # An LLM manager who may not read server actions gets the names of those using it,
        # not the database's constraint error.
        manager = new_test_user(self.env, login="llm_action_manager",
                                groups="base.group_user,llm_thread.group_llm_manager")
        action = self.action(name="Describe contacts")
        rule = self.env["base.automation"].create({
            "name": "Describe new contacts", "trigger": "on_create_or_write",
            "model_id": self.partner_model.id})
        # An automation rule's action is named after what it does: the rule names it.
        rule.action_server_ids = [Command.link(self.action(base_automation_id=rule.id).id)]
        prompt, assistant = self.prompt.with_user(manager), self.assistant.with_user(manager)
        with self.assertRaises(UserError) as caught, self.env.cr.savepoint():
            prompt.unlink()
        self.assertEqual(caught.exception.args[0],
                         '"Describe" is used by the actions "Describe contacts", "Run Assistant: '
                         'Contact helper — Describe" (automation rule "Describe new contacts"): '
                         'change or delete these actions first.')
        rule.action_server_ids.unlink()
        with self.assertRaisesRegex(UserError, '"Contact helper" is used by the action '
                                    '"Describe contacts": change or delete the action first'), \
                self.env.cr.savepoint():
            assistant.unlink()
        # Archiving stays possible; once the action is gone, so is deleting.
        prompt.active = assistant.active = False
        action.unlink()
        prompt.unlink()
        assistant.unlink()
        self.assertFalse(self.prompt.exists() or self.assistant.exists())


@tagged("post_install", "-at_install")
class TestRunAssistantTour(FakeProviderCase, HttpCase):
    """In a real browser, against the fake provider: the conversation an action left waiting
    for an approval, in the record's AI panel."""

    def test_waiting_conversation_in_the_ai_panel(self):
        provider = self.env["llm.provider"].create({
            "name": "Fake OpenAI", "api_format": "openai",
            "base_url": self.fake.base_url("openai")})
        provider.default_model_id = self.env["llm.model"].create({
            "name": "Fake model", "api_id": "fake-model", "provider_id": provider.id,
            "supports_tools": True})
        partner = self.env["res.partner"].create({"name": "Tour Automation Contact",
                                                  "phone": "+32 400 00 00 01"})
        action = self.env["ir.actions.server"].create({
            "name": "Check the phone", "model_id": self.env["ir.model"]._get_id("res.partner"),
            "state": "llm_assistant",
            "llm_assistant_id": self.env["llm.assistant"].create({
                "name": "Phone checker",
                "tool_ids": self.env.ref("llm_thread.tool_update_record").ids}).id,
            "llm_prompt_id": self.env["llm.prompt"].create({
                "name": "Check the phone", "user_id": False,
                "text": "Check the phone of {{ record.name }}."}).id})
        self.fake.script("openai", [
            StreamedToolCall("call_p", "update_record", json.dumps(
                {"model": "res.partner", "id": partner.id,
                 "values": {"phone": "+32 400 00 00 02"}})),
            Usage(10, 5), Finish("tool_calls"),
        ])
        self.fake.script("openai", [TextDelta("Phone fixed."), Usage(20, 4), Finish("stop")])
        runs = record_runs(self)
        self.env.flush_all()
        with self.registry.cursor() as cr:
            admin_env = api.Environment(cr, self.env.ref("base.user_admin").id, {})
            action.with_env(admin_env).with_context(
                active_model="res.partner", active_ids=partner.ids, active_id=partner.id).run()
        self.assertEqual([run.wait(WAIT) for run in runs], ["approval"])

        self.start_tour(f"/odoo/res.partner/{partner.id}", "llm_thread_automation_approval",
                        login="admin")
        self.assertEqual(partner.phone, "+32 400 00 00 02")
