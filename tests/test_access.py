"""Who may do what with a conversation and a provider, and what the routes answer to bad
input: through the real routes (JSON-RPC and the SSE route), the real ORM and PostgreSQL."""

import json
import re
from contextlib import contextmanager

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo import Command
from odoo.tests import Form, HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..models.llm_thread import MAX_ID, MAX_MESSAGE_CHARS, MAX_NAME_CHARS
from ..providers import base
from .engine_common import WAIT, EngineCase, Gate, answer, parse_sse, run_migration
from .test_tool_approval import ApprovalCase, asks

NOT_YOURS = "This conversation does not exist or is not yours."
UNAVAILABLE = "is not available for chatting"


class RpcMixin:
    """JSON-RPC calls that return the error the web client gets instead of raising."""

    def rpc(self, route, params):
        """(result, error): ``error`` is ``{"name", "message"}`` of the exception, or None."""
        response = self.url_open(route, data=json.dumps({
            "jsonrpc": "2.0", "method": "call", "id": 0, "params": params}).encode(),
            headers={"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 200, route)
        body = response.json()
        error = body.get("error")
        return body.get("result"), error and {
            "name": error["data"]["name"], "message": error["data"]["message"],
            "shown_as": error["data"]["context"].get("exception_class")}

    def call_kw(self, model, method, args, kwargs=None):
        return self.rpc(f"/web/dataset/call_kw/{model}/{method}", {
            "model": model, "method": method, "args": args, "kwargs": kwargs or {}})

    @contextmanager
    def assertRaisesMessage(self, exception, message):
        """Odoo's ``assertRaises`` (it rolls back what the failed call left in the cache),
        checking the message too."""
        with self.assertRaises(exception) as caught:
            yield
        self.assertIn(message, str(caught.exception))

    def assertRefused(self, error, name, message):
        self.assertTrue(error, "refused")
        self.assertEqual(error["name"], f"odoo.exceptions.{name}")
        self.assertIn(message, error["message"])

    def assertRefusedAs(self, error, name, message):
        """``assertRefused`` for a refusal of the chat's own (``LlmRefusal``): the web client
        shows it as ``name``."""
        self.assertTrue(error, "refused")
        self.assertEqual(error["shown_as"], f"odoo.exceptions.{name}")
        self.assertIn(message, error["message"])


@tagged("post_install", "-at_install")
class TestThreadAccess(RpcMixin, EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A provider of another company, and an archived one, each with a chat model.
        cls.other_company = cls.env["res.company"].create({"name": "Elsewhere Ltd"})
        cls.foreign_provider = cls.env["llm.provider"].create({
            "name": "Foreign", "api_format": "openai", "base_url": "http://foreign.invalid/v1",
            "company_id": cls.other_company.id})
        cls.foreign_model = cls.env["llm.model"].create({
            "name": "Foreign model", "api_id": "foreign", "provider_id": cls.foreign_provider.id})
        cls.archived_provider = cls.env["llm.provider"].create({
            "name": "Archived", "api_format": "openai", "base_url": "http://archived.invalid/v1"})
        cls.archived_model = cls.env["llm.model"].create({
            "name": "Archived model", "api_id": "archived",
            "provider_id": cls.archived_provider.id})
        cls.archived_provider.active = False

    def update(self, values, login="llm_a"):
        self.authenticate(login, f"{login}_password_1")
        return self.rpc(f"/llm/thread/{self.thread.id}/update", {"values": values})

    # Provider and model -----------------------------------------------------------------

    def test_update_with_only_a_provider_is_checked(self):
        for provider in (self.foreign_provider, self.archived_provider):
            with self.subTest(provider=provider.name), self.assertNoLogs(level="WARNING"):
                _result, error = self.update({"provider_id": provider.id})
                self.assertRefused(error, "ValidationError", UNAVAILABLE)
        self.env.invalidate_all()
        self.assertEqual(self.thread.provider_id, self.provider_record)

    def test_orm_write_of_a_model_the_user_may_not_use(self):
        thread = self.thread.with_user(self.user_a)
        for values in ({"provider_id": self.foreign_provider.id,
                        "model_id": self.foreign_model.id},
                       {"model_id": self.foreign_model.id},
                       {"provider_id": self.archived_provider.id},
                       {"provider_id": self.archived_provider.id,
                        "model_id": self.archived_model.id},
                       # a model with another provider's key
                       {"provider_id": self.foreign_provider.id, "model_id": self.model.id}):
            with self.subTest(values=values), \
                    self.assertRaisesMessage(ValidationError, UNAVAILABLE):
                thread.write(values)
        self.assertEqual((self.thread.provider_id, self.thread.model_id),
                         (self.provider_record, self.model))

    def test_archiving_stops_conversations_already_set_on_them(self):
        for record in (self.model, self.provider_record):
            with self.subTest(archived=record._name):
                self.script(answer("never"))
                record.active = False
                response = self.post_generate(self.thread, "hello")
                record.active = True
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "not_configured")
                self.assertIn(UNAVAILABLE, response.json()["error"]["message"])
                self.assertEqual(len(self.provider.scripts), 1, "the provider was not called")
                self.provider.scripts.clear()
        self.env.invalidate_all()
        self.assertEqual(self.thread.generation_state, "idle")

    # The owner --------------------------------------------------------------------------

    @mute_logger("odoo.http")
    def test_owner_never_changes(self):
        self.authenticate("llm_a", "llm_a_password_1")
        _result, error = self.call_kw("llm.thread", "write",
                                      [[self.thread.id], {"user_id": self.user_b.id}])
        self.assertRefused(error, "UserError", "owner of a conversation cannot change")
        with self.assertRaises(UserError):
            self.thread.sudo().write({"user_id": self.user_b.id})
        self.env.invalidate_all()
        self.assertEqual(self.thread.user_id, self.user_a)
        self.assertFalse(self.env["llm.thread"].with_user(self.user_b).llm_ui_list())

    @mute_logger("odoo.http")
    def test_what_only_the_server_writes(self):
        """The answer's state (the claim, the stop flag, the last error) is the engine's, and a
        linked record must be readable: over RPC as through the chat."""
        self.authenticate("llm_a", "llm_a_password_1")
        secret = self.env["res.partner"].create({"name": "Hidden", "company_id":
                                                 self.env["res.company"].create({"name": "Other"}).id})
        for values in ({"generation_state": "idle"}, {"generation_token": "mine"},
                       {"generation_error": "forged"}):
            _result, error = self.call_kw("llm.thread", "write", [[self.thread.id], values])
            self.assertRefused(error, "AccessError", "is the server's to write")
            _result, error = self.call_kw("llm.thread", "create", [{"name": "x", **values}])
            self.assertRefused(error, "AccessError", "is the server's to write")
        _result, error = self.call_kw("llm.thread", "write", [
            [self.thread.id], {"res_model": "res.partner", "res_id": secret.id}])
        self.assertRefused(error, "AccessError", "")
        # The id alone, once linked to a record the user may read (a review found this way).
        mine = self.env["res.partner"].create({"name": "Mine"})
        _result, error = self.call_kw("llm.thread", "write", [
            [self.thread.id], {"res_model": "res.partner", "res_id": mine.id}])
        self.assertFalse(error)
        _result, error = self.call_kw("llm.thread", "write", [
            [self.thread.id], {"res_id": secret.id}])
        self.assertRefused(error, "AccessError", "")
        # Where an automation's answer goes is its action's: a user setting it would have the
        # server post their next answer on a record of their choice.
        action = self.env.ref("base.action_run_ir_action_todo")
        for values in ({"llm_delivery": "note"}, {"llm_delivery_field": "comment"},
                       {"llm_action_id": action.id}):
            _result, error = self.call_kw("llm.thread", "write", [[self.thread.id], values])
            self.assertRefused(error, "AccessError", "of a conversation is set by the server only")
        # Nor as the context's defaults, which create() adds to the values (a review found
        # this way).
        for values in ({"generation_token": "mine"}, {"llm_delivery": "note"},
                       {"res_model": "res.partner", "res_id": secret.id}):
            context = {f"default_{name}": value for name, value in values.items()}
            _result, error = self.call_kw("llm.thread", "create", [{"name": "x"}],
                                          {"context": context})
            self.assertRefused(error, "AccessError", "")
        self.env.invalidate_all()
        self.assertEqual((self.thread.generation_state, self.thread.res_model, self.thread.res_id,
                          self.thread.llm_delivery), ("idle", "res.partner", mine.id, False))
        self.assertFalse(self.env["llm.thread"].search([("name", "=", "x")]))

    def test_the_form_is_read_only_but_to_the_owner(self):
        """A manager audits another user's conversation in the backend form, which may not be
        saved: its fields are read-only there, not editable until a refused save."""
        manager = new_test_user(self.env, login="llm_m", groups="base.group_user,llm_thread.group_llm_manager")
        self.assertTrue(self.thread.with_user(self.user_a).is_mine)
        self.assertFalse(self.thread.with_user(manager).is_mine)
        with Form(self.thread.with_user(self.user_a)) as form:
            form.system_prompt = "Answer briefly."
        self.assertEqual(self.thread.system_prompt, "Answer briefly.")
        form = Form(self.thread.with_user(manager))
        for name in ("name", "system_prompt", "assistant_id", "model_id", "provider_id"):
            with self.subTest(field=name), self.assertRaises(AssertionError, msg="read-only"):
                setattr(form, name, False)
        self.assertTrue(Form(self.env["llm.thread"].with_user(manager)).is_mine, "their own new one")

    def test_the_form_audits_without_a_chatter(self):
        """A manager reading another user's conversation is offered nothing the server
        refuses (mail's composer, which posts in it) nor an AI panel about the conversation
        (both are the chatter's), and reads it as the chat shows it: tool results labelled,
        no empty message of an answer that called a tool."""
        manager = new_test_user(self.env, login="llm_m", groups="base.group_user,llm_thread.group_llm_manager")
        post = self.thread.sudo().message_post
        post(body="Rename Azure", llm_role="user", message_type="comment")
        post(body="", llm_role="assistant", message_type="comment",
             body_json={"tool_calls": [{"id": "c1", "name": "update_record", "arguments": {}}]})
        post(body='{"updated": true, "id": 15}', llm_role="tool", message_type="comment",
             body_json={"tool_call_id": "c1", "name": "update_record"})
        post(body="Done.", llm_role="assistant", message_type="comment")
        arch = self.env["llm.thread"].with_user(manager).get_views([(False, "form")])[
            "views"]["form"]["arch"]
        self.assertNotIn("<chatter", arch)
        transcript = self.thread.with_user(manager).llm_transcript_ids
        self.assertEqual(
            [(dict(transcript._fields["llm_role"]._description_selection(self.env))[m.llm_role],
              m.body) for m in transcript],
            [("User", "<p>Rename Azure</p>"), ("Tool result", '<p>{"updated": true, "id": 15}</p>'),
             ("Assistant", "<p>Done.</p>")])
        # The owner goes on in LLM Chat; the manager is not offered it (is_mine) nor let in.
        action = self.thread.with_user(self.user_a).action_open_in_chat()
        self.assertEqual((action["tag"], action["context"]["active_id"]),
                         ("llm_thread.chat", self.thread.id))
        with self.assertRaises(AccessError):
            self.thread.with_user(manager).action_open_in_chat()

    def test_one_gate_one_message(self):
        """Every way into someone else's conversation ends at the same gate, with the same
        message, managers included."""
        manager = new_test_user(self.env, login="llm_m", password="llm_m_password_1",
                                groups="base.group_user,llm_thread.group_llm_manager")
        for user in (self.user_b, manager):
            thread = self.thread.with_user(user)
            calls = {
                "_llm_generate": lambda thread=thread: thread._llm_generate("hello"),
                "generate": lambda thread=thread: next(thread.generate("hello")),
                "action_stop": thread.action_stop,
                "llm_update": lambda thread=thread: thread.llm_update({"name": "mine"}),
                "llm_ui_load": thread.llm_ui_load,
                # The chatter of the backend form (a manager reads the conversation there).
                "message_post": lambda thread=thread: thread.message_post(body="A note"),
                "llm_ui_link": thread.llm_ui_link,
                "llm_ui_delete": thread.llm_ui_delete,
                "llm_ui_switch_version": lambda thread=thread: thread.llm_ui_switch_version(1),
                "llm_ui_feedback": lambda thread=thread: thread.llm_ui_feedback(1, "up"),
                "_llm_decide": lambda thread=thread: thread._llm_decide("w1", True),
                "_llm_execute": lambda user=user: self.env.ref(
                    "llm_thread.tool_read_record").with_user(user)._llm_execute(
                    {"model": "res.users", "id": user.id}, self.thread.with_user(user), "c1"),
            }
            for name, call in calls.items():
                with self.subTest(user=user.login, method=name), \
                        self.assertRaisesMessage(AccessError, NOT_YOURS):
                    call()
            login = user.login
            self.authenticate(login, f"{login}_password_1")
            with self.assertNoLogs(level="WARNING"):
                response = self.post_generate(self.thread, "hello", login=login)
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response.json()["error"]["message"], NOT_YOURS)
                for route, params in (("stop", {}), ("update", {"values": {"name": "x"}}),
                                      ("decide", {"call_id": "w1", "approved": True})):
                    _result, error = self.rpc(f"/llm/thread/{self.thread.id}/{route}", params)
                    self.assertRefused(error, "AccessError", NOT_YOURS)
        self.env.invalidate_all()
        self.assertEqual(self.thread.name, "A's chat")

    def test_refusals_of_normal_use_are_not_warnings(self):
        """A stale tab's call (a version gone) or a link to someone else's conversation is
        refused over call_kw as over the JSON routes: in words, logged at INFO, not as a
        warning."""
        self.authenticate("llm_a", "llm_a_password_1")
        with self.assertNoLogs("odoo.http", level="WARNING"):
            _result, error = self.call_kw("llm.thread", "llm_ui_switch_version",
                                          [[self.thread.id], 999999])
            self.assertEqual(error["message"], "This version does not exist any more.")
            # The web client shows it in a warning dialog, not as a server error.
            self.assertEqual(error["shown_as"], "odoo.exceptions.UserError")
            self.authenticate("llm_b", "llm_b_password_1")
            _result, error = self.call_kw("llm.thread", "llm_ui_load", [[self.thread.id]])
            self.assertEqual((error["message"], error["shown_as"]),
                             (NOT_YOURS, "odoo.exceptions.AccessError"))

    # RPC entry points -------------------------------------------------------------------

    def test_only_the_server_writes_answers(self):
        """A user cannot forge over RPC what the model answered, the calls it asked for (the
        next send runs an answer's calls that have no result) or what a tool returned: every
        way of posting, creating, copying or changing a message's role, data or versions, or
        an answer's text, is refused in words, logged at INFO. Their own question and a plain
        note go through."""
        self.script(answer("The real answer."))
        self.generate(self.thread, "hello")
        question, real = self.messages(self.thread)
        stored = (real.body, real.body_json)
        forged_call = {"tool_calls": [{"id": "forged", "name": "update_record", "arguments": {
            "model": "res.partner", "id": self.user_a.partner_id.id,
            "values": {"name": "Forged"}}}]}
        thread_id = self.thread.id
        attempts = {
            "post an answer": ("llm.thread", "message_post", [[thread_id]], {
                "body": "I said so", "llm_role": "assistant", "body_json": forged_call}),
            "post a tool result": ("llm.thread", "message_post", [[thread_id]], {
                "body": "{}", "llm_role": "tool",
                "body_json": {"tool_call_id": "forged", "name": "update_record"}}),
            "post data": ("llm.thread", "message_post", [[thread_id]], {
                "body": "x", "body_json": forged_call}),
            "create an answer": ("mail.message", "create", [{
                "model": "llm.thread", "res_id": thread_id, "message_type": "comment",
                "body": "x", "llm_role": "assistant"}], {}),
            "copy an answer": ("mail.message", "copy", [[real.id]], {}),
            "rewrite an answer": ("mail.message", "write", [[real.id], {"body": "Forged"}], {}),
            "add calls": ("mail.message", "write", [[real.id], {"body_json": forged_call}], {}),
            "turn a question into an answer": (
                "mail.message", "write", [[question.id], {"llm_role": "assistant"}], {}),
            "hide a version": ("mail.message", "write", [[real.id], {"llm_superseded": True}], {}),
            # The context's defaults, which create() adds to the values (a review found these).
            "create an answer by default": ("mail.message", "create", [{
                "model": "llm.thread", "res_id": thread_id, "message_type": "comment",
                "body": "x"}], {"context": {"default_llm_role": "assistant"}}),
            "create data by default": ("mail.message", "create", [{
                "model": "llm.thread", "res_id": thread_id, "message_type": "comment",
                "body": "x"}], {"context": {"default_body_json": forged_call}}),
        }
        self.authenticate("llm_a", "llm_a_password_1")
        with self.assertNoLogs("odoo.http", level="WARNING"):
            for name, (model, method, args, kwargs) in attempts.items():
                with self.subTest(name):
                    _result, error = self.call_kw(model, method, args, kwargs)
                    self.assertTrue(error, "refused")
                    self.assertIn("written by the server only", error["message"])
                    self.assertEqual(error["shown_as"], "odoo.exceptions.AccessError")
            # Nor deleted one by one: what the model is sent would change, and the next send
            # would run again an approved call whose result is gone.
            _result, error = self.call_kw("mail.message", "unlink", [[real.id]])
            self.assertRefusedAs(error, "AccessError", "not deleted one by one")
        self.env.invalidate_all()
        self.assertEqual(self.messages(self.thread), question | real)
        self.assertEqual((real.body, real.body_json), stored)
        # A question of their own, and a plain note, as before.
        asked, error = self.call_kw("llm.thread", "message_post", [[thread_id]], {
            "body": "And then?", "llm_role": "user"})
        self.assertIsNone(error)
        noted, error = self.call_kw("llm.thread", "message_post", [[thread_id]], {"body": "A note"})
        self.assertIsNone(error)
        self.env.invalidate_all()
        self.assertEqual(self.messages(self.thread).ids, [question.id, real.id, asked])
        self.assertFalse(self.env["mail.message"].browse(noted).llm_role)


    def test_no_deleting_under_a_running_answer(self):
        """While its answer is written, the conversation is not deleted (by the chat's delete
        button or a plain unlink) nor its answer: refused in words, logged at INFO, and the
        answer ends as usual. Once it is idle, the owner deletes the conversation."""
        gate = Gate()
        self.script([base.TextDelta("Half "), gate, *answer("done.")])
        response = self.post_generate(self.thread, "question", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        # Through a cursor of its own, as the run's transactions: the test's own cursor is not
        # for a thread to use while the run uses the connection.
        with self.registry.cursor() as cr:
            cr.execute("SELECT id FROM mail_message WHERE model = 'llm.thread' AND res_id = %s "
                       "AND llm_role = 'assistant'", (self.thread.id,))
            written = self.env["mail.message"].browse(cr.fetchone()[0])
        with self.assertNoLogs(level="WARNING"):
            for method in ("llm_ui_delete", "unlink"):
                _result, error = self.call_kw("llm.thread", method, [[self.thread.id]])
                self.assertEqual((error["message"], error["shown_as"]), (
                    "This conversation is writing an answer: stop it, then delete it.",
                    "odoo.exceptions.UserError"))
            _result, error = self.call_kw("mail.message", "unlink", [[written.id]])
            self.assertRefusedAs(error, "AccessError", "not deleted one by one")
            gate.open()
            events = parse_sse(response.iter_lines())
        self.assertEqual(self.text(events), "Half done.")
        self.assertEqual(events[-1][1]["state"], "idle")
        self.env.invalidate_all()
        self.assertEqual(written.body_json["finish_reason"], "stop")
        _result, error = self.call_kw("llm.thread", "llm_ui_delete", [[self.thread.id]])
        self.assertIsNone(error)
        self.assertFalse(self.thread.exists())
        self.assertFalse(written.exists(), "its messages go with it")

    @mute_logger("odoo.http")
    def test_python_api_is_not_reachable_over_rpc(self):
        self.script(answer("never"))
        self.authenticate("llm_a", "llm_a_password_1")
        for method, args in (("generate", [[self.thread.id], "hello"]),
                             ("get_context", [[self.thread.id]])):
            with self.subTest(method=method):
                _result, error = self.call_kw("llm.thread", method, args)
                self.assertRefused(error, "AccessError", "cannot be called remotely")
        self.env.invalidate_all()
        self.assertEqual(self.thread.generation_state, "idle", "the thread is not left claimed")
        self.assertFalse(self.messages(self.thread))
        # The route is the way in.
        _response, events = self.generate(self.thread, "hello")
        self.assertEqual(self.text(events), "never")

    # Tools ------------------------------------------------------------------------------

    def test_tool_names_are_checked_on_every_write(self):
        thread = self.thread.with_user(self.user_a)
        with self.assertRaisesMessage(AccessError, "sql_query"):
            thread.write({"tool_names": ["read_record", "sql_query"]})
        with self.assertRaises(AccessError):
            self.env["llm.thread"].with_user(self.user_a).create(
                {"name": "t", "tool_names": ["sql_query"]})
        for bad in ([None], "read_record", [["read_record"]]):
            with self.subTest(tool_names=bad), self.assertRaises(ValidationError):
                thread.write({"tool_names": bad})
        thread.write({"tool_names": ["read_record"]})
        self.assertEqual(self.thread.tool_names, ["read_record"])


@tagged("post_install", "-at_install")
class TestRouteInput(RpcMixin, EngineCase):
    """Bad input to every route is a clear refusal, logged at INFO at most."""

    def test_json_routes_refuse_bad_input(self):
        self.authenticate("llm_a", "llm_a_password_1")
        thread = f"/llm/thread/{self.thread.id}"
        huge = f"/llm/thread/{MAX_ID + 1}"
        cases = [
            (f"{huge}/stop", {}, "AccessError", NOT_YOURS),
            (f"{huge}/update", {"values": {"name": "x"}}, "AccessError", NOT_YOURS),
            (f"{huge}/decide", {"call_id": "w1", "approved": True}, "AccessError", NOT_YOURS),
            (f"/llm/thread/{2**63}/stop", {}, "AccessError", NOT_YOURS),
            (f"{thread}/update", {}, "UserError", "Missing parameters: values"),
            (f"{thread}/update", {"values": ["name"]}, "UserError", "Invalid value for values"),
            (f"{thread}/update", {"values": None}, "UserError", "Invalid value for values"),
            (f"{thread}/update", {"values": {}, "other": 1}, "UserError",
             "Unexpected parameters: other"),
            (f"{thread}/update", {"values": {"tool_names": [None]}}, "UserError",
             "Invalid value for tool_names"),
            (f"{thread}/update", {"values": {"tool_names": None}}, "UserError",
             "Invalid value for tool_names"),
            (f"{thread}/update", {"values": {"name": "a\x00b"}}, "UserError",
             "Invalid value for name"),
            (f"{thread}/update", {"values": {"name": 42}}, "UserError", "Invalid value for name"),
            (f"{thread}/update", {"values": {"provider_id": 2**40}}, "UserError",
             "Invalid value for provider_id"),
            (f"{thread}/update", {"values": {"model_id": "1"}}, "UserError",
             "Invalid value for model_id"),
            (f"{thread}/update", {"values": {"active": "false"}}, "UserError",
             "Invalid value for active"),
            (f"{thread}/update", {"values": {"user_id": self.user_b.id}}, "UserError",
             "Unexpected parameters: user_id"),
            (f"{thread}/update", {"values": {"name": "x" * (MAX_NAME_CHARS + 1)}},
             "ValidationError", f"at most {MAX_NAME_CHARS}"),
            (f"{thread}/update", {"values": {"system_prompt": "x" * (MAX_MESSAGE_CHARS + 1)}},
             "ValidationError", "The system prompt is too long"),
            (f"{thread}/stop", {"now": True}, "UserError", "Unexpected parameters: now"),
            (f"{thread}/decide", {"approved": True}, "UserError", "Missing parameters: call_id"),
            (f"{thread}/decide", {"call_id": 7, "approved": True}, "UserError",
             "Invalid value for call_id"),
            (f"{thread}/decide", {"call_id": "w1", "approved": "false"}, "UserError",
             "Invalid value for approved"),
            (f"{thread}/decide", {"call_id": "w1", "approved": None}, "UserError",
             "Invalid value for approved"),
        ]
        with self.assertNoLogs(level="WARNING"):
            for route, params, name, message in cases:
                with self.subTest(route=route, params=str(params)[:60]):
                    _result, error = self.rpc(route, params)
                    self.assertRefused(error, name, message)
        self.env.invalidate_all()
        self.assertEqual(self.thread.name, "A's chat")
        self.assertFalse(self.thread.system_prompt)
        # Good input still passes.
        result, error = self.rpc(f"{thread}/update", {"values": {
            "name": "Renamed", "system_prompt": False, "active": True}})
        self.assertIsNone(error)
        self.assertEqual(result["name"], "Renamed")

    def test_generate_route_refuses_bad_input(self):
        self.script(answer("never"))
        with self.assertNoLogs(level="WARNING"):
            response = self.post_generate(self.thread.browse(MAX_ID + 1), "hello")
            self.assertEqual(response.status_code, 404)
            self.assertEqual(response.json()["error"], {"code": "not_found",
                                                        "message": NOT_YOURS})
            response = self.post_generate(self.thread, "nul \x00 inside")
            self.assertEqual(response.status_code, 400)
            self.assertEqual(response.json()["error"]["code"], "invalid_input")
        self.assertFalse(self.messages(self.thread))
        self.assertEqual(len(self.provider.scripts), 1, "the provider was not called")

    def test_system_prompt_size_is_limited_on_every_path(self):
        with self.assertRaisesMessage(ValidationError, "The system prompt is too long"):
            self.thread.with_user(self.user_a).write(
                {"system_prompt": "x" * (MAX_MESSAGE_CHARS + 1)})


@tagged("post_install", "-at_install")
class TestApprovalDetails(RpcMixin, ApprovalCase):

    def rename(self, call_id, name):
        return base.ToolCallEvent(base.ToolCall(call_id, "update_record", {
            "model": "res.partner", "id": self.partner.id, "values": {"name": name}}))

    def decide(self, call_id, approved):
        self.authenticate("llm_a", "llm_a_password_1")
        return self.rpc(f"/llm/thread/{self.thread.id}/decide",
                        {"call_id": call_id, "approved": approved})

    def finished(self, events):
        return {p["call_id"]: p["error"] for n, p in events if n == "tool_call_finished"}

    def test_approved_is_a_boolean(self):
        self.script(asks("w1", "update_record", model="res.partner", id=self.partner.id,
                         values={"name": "Alice B"}))
        self.generate(self.thread, "Rename me")
        for approved in ("false", "true", 1, 0, None):
            with self.subTest(approved=approved):
                _result, error = self.decide("w1", approved)
                self.assertRefused(error, "UserError", "Invalid value for approved")
        self.env.invalidate_all()
        self.assertEqual(self.thread.approval_ids.state, "pending")
        self.assertEqual(self.partner.name, "Alice A")

    def test_identical_calls_keep_their_own_decisions(self):
        for decisions in ((True, False), (False, True)):
            with self.subTest(decisions=decisions):
                self.partner.name = "Alice A"
                self.script([self.rename("w1", "Alice B"), self.rename("w2", "Alice B"),
                             base.Usage(5, 5), base.Finish("tool_calls")])
                _response, events = self.generate(self.thread, "Rename her, twice")
                self.assertEqual([p["call_id"] for n, p in events if n == "approval_required"],
                                 ["w1", "w2"])
                for call_id, approved in zip(("w1", "w2"), decisions):
                    _result, error = self.decide(call_id, approved)
                    self.assertIsNone(error)
                self.script(answer("Done."))
                _response, events = self.generate(self.thread, None)
                denied = "The user denied this action."
                self.assertEqual(self.finished(events), {
                    call_id: None if approved else denied
                    for call_id, approved in zip(("w1", "w2"), decisions)})
                self.assertEqual(self.partner.name, "Alice B", "the approved call ran")
                log = self.env["llm.tool.log"].search(
                    [("thread_id", "=", self.thread.id), ("state", "=", "done")])
                self.assertEqual(len(log), 1 + (decisions == (False, True)))

    def test_an_approval_runs_its_call_once(self):
        """An approved call runs once (a review ran one approval three times): its result and
        the answer after it are not the owner's to delete (a send without a message then ran
        the call again), and a call whose approval was used never runs again, whatever the
        conversation holds."""
        self.script([self.rename("w1", "Alice B"), base.Usage(5, 5), base.Finish("tool_calls")])
        self.generate(self.thread, "Rename her")
        self.assertIsNone(self.decide("w1", True)[1])
        self.script(answer("Renamed."))
        self.generate(self.thread, None)
        result, final = self.messages(self.thread)[-2:]
        self.assertEqual((result.llm_role, final.llm_role), ("tool", "assistant"))
        with self.assertNoLogs(level="WARNING"):
            _result, error = self.call_kw("mail.message", "unlink", [(result | final).ids])
        self.assertRefusedAs(error, "AccessError", "not deleted one by one")
        # Gone another way (the server's code, in sudo): the call still does not run again.
        (result | final).sudo().unlink()
        self.partner.name = "Alice A"
        self.script(answer("Nothing left to do."))
        _response, events = self.generate(self.thread, None)
        self.assertEqual(self.finished(events), {})
        self.assertEqual(self.partner.name, "Alice A")
        tool = self.env.ref("llm_thread.tool_update_record").with_user(self.user_a)
        with self.assertRaisesMessage(AccessError, "already ran"):
            tool._llm_execute({"model": "res.partner", "id": self.partner.id,
                               "values": {"name": "Alice B"}},
                              self.thread.with_user(self.user_a), "w1")
        self.assertEqual(self.partner.name, "Alice A")
        self.assertEqual(self.env["llm.tool.log"].search_count(
            [("thread_id", "=", self.thread.id), ("state", "=", "done")]), 1)

    def test_arguments_follow_the_schema_before_the_approval(self):
        """A call whose arguments do not follow its tool's schema (a review hid the record
        written behind a string id: the preview found none, the run wrote it) asks no
        approval and runs nothing: the model gets the error and the schema."""
        self.script([base.ToolCallEvent(base.ToolCall("w1", "update_record", {
            "model": "res.partner", "id": str(self.partner.id), "values": {"name": "Hidden"}})),
            base.Usage(5, 5), base.Finish("tool_calls")], answer("Sorry."))
        _response, events = self.generate(self.thread, "Rename her")
        self.assertNotIn("approval_required", self.names(events))
        self.assertFalse(self.thread.approval_ids)
        error = self.finished(events)["w1"]
        self.assertIn("Invalid arguments for update_record (id must be of type integer)", error)
        self.assertEqual(self.provider.requests[-1]["messages"][-1].content, error)
        self.assertEqual(self.partner.name, "Alice A")

    def test_same_call_id_twice_in_one_answer(self):
        self.script([self.rename("w1", "Alice B"), self.rename("w1", "Alice C"),
                     base.Usage(5, 5), base.Finish("tool_calls")])
        _response, events = self.generate(self.thread, "Rename her")
        self.assertNotIn("error", self.names(events))
        self.assertEqual([p["call_id"] for n, p in events if n == "tool_call_started"],
                         ["w1", "w1_2"])
        self.assertEqual([p["call_id"] for n, p in events if n == "approval_required"],
                         ["w1", "w1_2"])
        self.assertEqual(events[-1][1]["state"], "approval")
        self.assertIsNone(self.decide("w1", False)[1])
        self.assertIsNone(self.decide("w1_2", True)[1])
        self.script(answer("Renamed to Alice C."))
        _response, events = self.generate(self.thread, None)
        self.assertEqual(self.finished(events), {"w1": "The user denied this action.",
                                                 "w1_2": None})
        self.assertEqual(self.partner.name, "Alice C")
        sent = self.provider.requests[-1]["messages"][1:]  # after the system prompt
        self.assertEqual([c.id for c in sent[1].tool_calls], ["w1", "w1_2"])
        self.assertEqual([m.tool_call_id for m in sent[2:]], ["w1", "w1_2"])


@tagged("post_install", "-at_install")
class TestPromptSharing(RpcMixin, HttpCase):
    """A user's prompts stay theirs: shared, a prompt is offered to every user, so only
    managers share one or give one to someone else, whatever the client sends (a user wrote
    ``user_id`` False on their own prompt over JSON-RPC: the record rules passed, as they check
    the prompt before the write)."""

    SHARE = "only an LLM manager shares a prompt with everyone or gives it to another user"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user, cls.other, cls.manager = (
            new_test_user(cls.env, login=login, password=f"{login}_password_1", groups=groups)
            for login, groups in (
                ("prompt_user", "base.group_user"), ("prompt_other", "base.group_user"),
                ("prompt_manager", "base.group_user,llm_thread.group_llm_manager")))

    def offered_to(self, user):
        return [p["id"] for p in self.env["llm.thread"].with_user(user).llm_ui_prompts(
            "res.partner", self.user.partner_id.id)]

    def owner_field(self):
        """The owner fields of the prompt form as the web client gets it: (readonly, ...)."""
        views, error = self.call_kw("llm.prompt", "get_views", [],
                                    {"views": [[False, "form"]]})
        self.assertIsNone(error)
        return re.findall(r'<field name="user_id"([^>]*)>', views["views"]["form"]["arch"])

    @mute_logger("odoo.http")
    def test_only_managers_share_prompts(self):
        self.authenticate("prompt_user", "prompt_user_password_1")
        mine, error = self.call_kw("llm.prompt", "create", [{
            "name": "Summarise this record (official)", "text": "{{ record.display_name }}"}])
        self.assertIsNone(error)
        for owner in (False, self.other.id):
            with self.subTest(owner=owner):
                _result, error = self.call_kw("llm.prompt", "write", [[mine], {"user_id": owner}])
                self.assertRefused(error, "AccessError", self.SHARE)
                _result, error = self.call_kw("llm.prompt", "create", [
                    {"name": "Shared", "text": "x", "user_id": owner}])
                self.assertRefused(error, "AccessError", self.SHARE)
        _result, error = self.call_kw("llm.prompt", "write", [
            [mine], {"user_id": self.user.id, "name": "Renamed"}])
        self.assertIsNone(error, "naming oneself changes nothing")
        self.assertEqual(self.env["llm.prompt"].browse(mine).user_id, self.user)
        self.assertIn(mine, self.offered_to(self.user))
        self.assertNotIn(mine, self.offered_to(self.other))
        # The form shows a user their prompt's owner, not a field to change it.
        self.assertEqual([' readonly="1"' in attrs for attrs in self.owner_field()], [True])
        self.authenticate("prompt_manager", "prompt_manager_password_1")
        self.assertEqual([' readonly="1"' in attrs for attrs in self.owner_field()], [False])
        shared, error = self.call_kw("llm.prompt", "create", [{"name": "Shared", "text": "x"}])
        self.assertIsNone(error)
        _result, error = self.call_kw("llm.prompt", "write", [[shared], {"user_id": self.other.id}])
        self.assertIsNone(error)
        self.assertEqual(self.offered_to(self.other).count(shared), 1)


@tagged("post_install", "-at_install")
class TestManagerCompanies(TransactionCase):
    """An LLM manager of one company audits and configures that company's conversations,
    tools and assistants, not another company's (managers of every company before: a manager
    of B read A's transcripts and tool results, and could lift the approval of A's tools)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        cls.alice = new_test_user(cls.env, login="alice_a", groups="base.group_user")
        cls.manager_b = new_test_user(
            cls.env, login="manager_b", groups="base.group_user,llm_thread.group_llm_manager",
            company_id=cls.company_b.id, company_ids=[Command.set(cls.company_b.ids)])
        cls.manager_a = new_test_user(
            cls.env, login="manager_a", groups="base.group_user,llm_thread.group_llm_manager")
        cls.thread = cls.env["llm.thread"].with_user(cls.alice).create({"name": "A's deal"})
        only_a = [Command.set(cls.company_a.ids)]
        cls.tool = cls.env["llm.tool"].search([], limit=1)
        cls.tool.company_ids = only_a
        cls.assistant = cls.env["llm.assistant"].create({"name": "A's helper",
                                                          "company_ids": only_a})
        cls.log = cls.env["llm.tool.log"].create({
            "user_id": cls.alice.id, "thread_id": cls.thread.id, "tool_id": cls.tool.id,
            "tool_name": cls.tool.name, "state": "done", "result": "Azure Interior"})
        cls.approval = cls.env["llm.tool.approval"].create({
            "thread_id": cls.thread.id, "tool_id": cls.tool.id, "call_id": "call_1",
            "message_id": cls.thread.message_post(body="asked").id})

    def visible(self, user):
        return [bool(record.with_user(user).search([("id", "=", record.id)]))
                for record in (self.thread, self.log, self.approval, self.tool, self.assistant)]

    def test_a_manager_sees_only_their_companies(self):
        self.assertEqual(self.visible(self.manager_a), [True] * 5)
        self.assertEqual(self.visible(self.manager_b), [False] * 5)
        with self.assertRaises(AccessError):
            self.assistant.with_user(self.manager_b).instructions = "Changed by B's manager"
        with self.assertRaises(AccessError):
            self.tool.with_user(self.manager_b).requires_approval = False

    def test_shared_configuration_stays_every_managers(self):
        self.tool.company_ids = self.assistant.company_ids = False
        self.assertEqual(self.visible(self.manager_b)[3:], [True, True])


@tagged("post_install", "-at_install")
class TestConversationCompany(TransactionCase):
    """A conversation belongs to the company it was started in, and the managers of that
    company audit it, not those of every company of its owner (a manager of B read what a
    user of A and B wrote in A). The owner keeps every conversation of theirs, whatever the
    company they work in."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        both = [Command.set((cls.company_a | cls.company_b).ids)]
        cls.alice = new_test_user(cls.env, login="alice_ab", groups="base.group_user",
                                  company_id=cls.company_a.id, company_ids=both)
        cls.manager_a = new_test_user(
            cls.env, login="manager_a", groups="base.group_user,llm_thread.group_llm_manager")
        cls.manager_b = new_test_user(
            cls.env, login="manager_b", groups="base.group_user,llm_thread.group_llm_manager",
            company_id=cls.company_b.id, company_ids=[Command.set(cls.company_b.ids)])
        # As the web client calls: the company switcher's companies, the current one first.
        cls.in_a = cls.env["llm.thread"].with_user(cls.alice).with_context(
            allowed_company_ids=(cls.company_a | cls.company_b).ids)
        cls.in_b = cls.in_a.with_context(allowed_company_ids=(cls.company_b | cls.company_a).ids)
        cls.thread_a = cls.in_a.create({"name": "Started in A"})
        cls.thread_b = cls.in_b.create({"name": "Started in B"})
        cls.tool = cls.env["llm.tool"].search([], limit=1)
        cls.audit = {}  # thread -> (approval, log line)
        for thread in cls.thread_a | cls.thread_b:
            cls.audit[thread] = (
                cls.env["llm.tool.approval"].create({
                    "thread_id": thread.id, "tool_id": cls.tool.id, "call_id": "call_1",
                    "message_id": thread.sudo().message_post(body="asked").id}),
                cls.env["llm.tool.log"].create({
                    "user_id": cls.alice.id, "thread_id": thread.id, "tool_id": cls.tool.id,
                    "tool_name": cls.tool.name, "state": "done", "result": "Azure Interior"}))

    def visible(self, user, thread):
        return [bool(self.env[record._name].with_user(user).search([("id", "=", record.id)]))
                for record in (thread, *self.audit[thread])]

    def test_started_in_the_current_company(self):
        self.assertEqual((self.thread_a.company_id, self.thread_b.company_id),
                         (self.company_a, self.company_b))

    def test_managers_audit_their_companies_conversations(self):
        self.assertEqual(self.visible(self.manager_a, self.thread_a), [True] * 3)
        self.assertEqual(self.visible(self.manager_b, self.thread_a), [False] * 3)
        self.assertEqual(self.visible(self.manager_b, self.thread_b), [True] * 3)
        self.assertEqual(self.visible(self.manager_a, self.thread_b), [False] * 3)
        with self.assertRaises(AccessError):
            self.env["llm.thread"].with_user(self.manager_b).browse(self.thread_a.id).read(["name"])

    def test_tool_log_of_a_deleted_conversation(self):
        """Its line stays for the audit, read by the managers of its user's companies."""
        log = self.audit[self.thread_a][1]
        self.thread_a.with_user(self.alice).llm_ui_delete()
        for manager in (self.manager_a, self.manager_b):
            self.assertTrue(self.env["llm.tool.log"].with_user(manager).search([("id", "=", log.id)]))

    def test_owner_keeps_their_conversations_in_every_company(self):
        for threads, company in ((self.in_a, self.company_a), (self.in_b, self.company_b)):
            only_there = threads.with_context(allowed_company_ids=company.ids)
            with self.subTest(company=company.name):
                self.assertEqual({t["id"] for t in only_there.llm_ui_list()},
                                 {self.thread_a.id, self.thread_b.id})
                for thread in self.thread_a | self.thread_b:
                    self.assertEqual(only_there.browse(thread.id).llm_ui_load()["id"], thread.id)
                    only_there.browse(thread.id).llm_update({"name": "Renamed"})

    def test_linked_record_gives_its_company(self):
        """A conversation opened from a record's chatter is about that record's company."""
        partner_b = self.env["res.partner"].create({"name": "B's customer",
                                                    "company_id": self.company_b.id})
        shared = self.env["res.partner"].create({"name": "Everyone's customer"})
        linked = self.in_a.llm_ui_create(res_model="res.partner", res_id=partner_b.id)
        self.assertEqual(self.in_a.browse(linked["id"]).company_id, self.company_b)
        linked = self.in_a.llm_ui_create(res_model="res.partner", res_id=shared.id)
        self.assertEqual(self.in_a.browse(linked["id"]).company_id, self.company_a)

    def test_only_a_company_the_owner_works_in(self):
        elsewhere = self.env["res.company"].create({"name": "Not Alice's"})
        with self.assertRaisesRegex(AccessError, "companies you work in"):
            self.in_a.create({"name": "x", "company_id": elsewhere.id})
        with self.assertRaisesRegex(AccessError, "companies you work in"):
            self.thread_a.with_user(self.alice).company_id = elsewhere
        self.thread_a.with_user(self.alice).company_id = self.company_b
        self.assertEqual(self.visible(self.manager_b, self.thread_a), [True] * 3)

    def test_migration_gives_older_conversations_their_owners_company(self):
        self.thread_b.sudo().company_id = self.company_a  # as the update left it
        alice_in_b = self.in_b.create({"name": "x"}).sudo()
        self.alice.company_id = self.company_b
        self.env.flush_all()
        run_migration(self.env.cr, "18.0.0.4.0", "18.0.0.3.0")
        self.env.invalidate_all()
        self.assertEqual((self.thread_a | self.thread_b | alice_in_b).mapped("company_id"),
                         self.company_b)
