"""Approval of tool calls that change data, through the real routes, and the audit log."""

from lxml import html as lxml_html

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..providers import base
from .engine_common import EngineCase, answer


def asks(call_id, name, **arguments):
    return [base.ToolCallEvent(base.ToolCall(call_id, name, arguments)), base.Usage(5, 5),
            base.Finish("tool_calls")]


class ApprovalCase(EngineCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A may edit contacts, but a call changing one runs only once A approved it.
        cls.user_a.groups_id += cls.env.ref("base.group_partner_manager")
        cls.partner = cls.env["res.partner"].create({"name": "Alice A"})
        cls.thread.tool_names = ["read_record", "update_record"]


@tagged("post_install", "-at_install")
class TestApproval(ApprovalCase):

    def decide(self, call_id, approved, login="llm_a", thread=None):
        self.authenticate(login, f"{login}_password_1")
        return self.make_jsonrpc_request(f"/llm/thread/{(thread or self.thread).id}/decide",
                                         {"call_id": call_id, "approved": approved})

    def ask_rename(self, call_id="w1", name="Alice Renamed"):
        self.script(asks(call_id, "update_record", model="res.partner", id=self.partner.id,
                         values={"name": name}))
        return self.generate(self.thread, "Rename me")

    def test_write_waits_for_approval_then_runs(self):
        _response, events = self.ask_rename()
        required = dict(events)["approval_required"]
        self.assertEqual(required["call_id"], "w1")
        self.assertEqual(required["preview"]["model"], "Contact")
        self.assertEqual(required["preview"]["records"], ["Alice A"])
        self.assertEqual(required["preview"]["changes"],
                         [{"field": "Name", "old": "Alice A", "new": "Alice Renamed"}])
        self.assertEqual(events[-1][1]["state"], "approval")
        self.assertNotIn("tool_call_finished", self.names(events))
        self.assertEqual(self.partner.name, "Alice A", "nothing runs before the approval")
        self.assertEqual(self.thread.generation_state, "approval")
        self.assertEqual(len(self.provider.requests), 1)

        summary = self.decide("w1", True)
        self.assertEqual(summary["w1"]["state"], "approved")
        self.script(answer("Renamed."))
        _response, events = self.generate(self.thread, None)
        finished = dict(events)["tool_call_finished"]
        self.assertIsNone(finished["error"])
        # Named after the change; "changed": a form showing it reloads.
        self.assertEqual(finished["records"], [{"model": "res.partner", "id": self.partner.id,
                                                "label": "Alice Renamed", "changed": True}])
        self.assertEqual(self.partner.name, "Alice Renamed")
        self.assertEqual(self.text(events), "Renamed.")
        self.assertEqual(events[-1][1]["state"], "idle")
        second = self.provider.requests[1]["messages"][1:]  # after the system prompt
        self.assertEqual([m.role for m in second], ["user", "assistant", "tool"])

        log = self.env["llm.tool.log"].search([("thread_id", "=", self.thread.id)])
        self.assertEqual(len(log), 1)
        self.assertEqual((log.user_id, log.tool_name, log.state, log.approved_by_id),
                         (self.user_a, "update_record", "done", self.user_a))
        self.assertIn("Alice Renamed", log.arguments)
        self.assertGreaterEqual(log.duration_ms, 0)
        # The chat shows the decision after a reload.
        loaded = self.thread.with_user(self.user_a).llm_ui_load()
        asked = next(m for m in loaded["messages"] if m["data"].get("tool_calls"))
        self.assertEqual(asked["data"]["approvals"]["w1"]["state"], "approved")
        result = next(m for m in loaded["messages"] if m["role"] == "tool")
        self.assertEqual([link["label"] for link in result["data"]["records"]], ["Alice Renamed"])

    def test_a_call_is_stored_where_it_came_in_the_text(self):
        self.script([base.TextDelta("🙂 Renaming "), base.TextDelta("it."),
                     *asks("w1", "update_record", model="res.partner", id=self.partner.id,
                           values={"name": "Alice B"})])
        self.generate(self.thread, "Rename me")
        loaded = self.thread.with_user(self.user_a).llm_ui_load()
        asked = next(m for m in loaded["messages"] if m["data"].get("tool_calls"))
        offset = asked["data"]["tool_calls"][0]["offset"]
        self.assertEqual(asked["text"][:offset], "🙂 Renaming it.")

    def test_deny_is_fed_back_to_the_model(self):
        self.ask_rename()
        self.decide("w1", False)
        self.script(answer("Alright, I left it."))
        _response, events = self.generate(self.thread, None)
        finished = dict(events)["tool_call_finished"]
        self.assertEqual(finished["error"], "The user denied this action.")
        self.assertEqual(finished["records"], [])
        fed_back = self.provider.requests[1]["messages"][-1]
        self.assertTrue(fed_back.is_error)
        self.assertEqual(fed_back.content, "The user denied this action.")
        self.assertEqual(self.text(events), "Alright, I left it.")
        self.assertEqual(self.partner.name, "Alice A")
        log = self.env["llm.tool.log"].search([("thread_id", "=", self.thread.id)])
        self.assertEqual((log.state, log.error, log.approved_by_id.id),
                         ("error", "The user denied this action.", False))

    def test_continuing_without_a_decision_runs_nothing(self):
        self.ask_rename()
        _response, events = self.generate(self.thread, None)
        self.assertEqual(self.names(events), ["approval_required", "done"],
                         "the call still waits; the model is not called again")
        self.assertEqual(events[-1][1]["state"], "approval")
        self.assertEqual(len(self.provider.requests), 1)
        self.assertEqual(self.partner.name, "Alice A")

    @mute_logger("odoo.http")
    def test_approval_cannot_be_bypassed_over_rpc(self):
        self.ask_rename()
        approval = self.thread.approval_ids
        tool = self.env.ref("llm_thread.tool_update_record")
        self.authenticate("llm_a", "llm_a_password_1")

        def call_kw(model, method, args):
            return self.make_jsonrpc_request(f"/web/dataset/call_kw/{model}/{method}", {
                "model": model, "method": method, "args": args, "kwargs": {}})

        attempts = [
            ("llm.tool", "_llm_execute", [[tool.id], {"model": "res.partner", "id": self.partner.id,
                                                      "values": {"name": "Bypassed"}},
                                          self.thread.id, "w1"]),
            ("llm.tool", "_llm_run", [[tool.id], {"model": "res.partner", "id": self.partner.id,
                                                  "values": {"name": "Bypassed"}}]),
            ("llm.tool", "_llm_tool_update_record", [[], "res.partner", self.partner.id,
                                                     {"name": "Bypassed"}]),
            ("llm.thread", "_llm_decide", [[self.thread.id], "w1", True]),
            ("llm.tool.approval", "write", [[approval.id], {"state": "approved"}]),
            ("llm.tool.approval", "create", [{"thread_id": self.thread.id, "call_id": "w2",
                                              "message_id": approval.message_id.id,
                                              "tool_id": tool.id, "state": "approved"}]),
        ]
        for model, method, args in attempts:
            with self.subTest(method=method), self.assertRaises(Exception) as caught:
                call_kw(model, method, args)
            self.assertIn("AccessError", str(caught.exception))
        # Another user may not decide on A's calls, even through the route.
        with self.assertRaises(Exception) as caught:
            self.decide("w1", True, login="llm_b")
        self.assertIn("AccessError", str(caught.exception))
        self.env.invalidate_all()
        self.assertEqual(approval.state, "pending")
        self.assertEqual(self.partner.name, "Alice A")

        # An approval recorded by someone other than the owner (e.g. by code with sudo) does
        # not count either.
        approval.sudo().write({"state": "approved", "decided_by_id": self.env.ref("base.user_admin").id})
        with self.assertRaises(AccessError):
            tool.with_user(self.user_a)._llm_execute(approval.arguments, self.thread, "w1")
        # Nor does the owner's approval of other arguments.
        approval.sudo().decided_by_id = self.user_a
        with self.assertRaises(AccessError):
            tool.with_user(self.user_a)._llm_execute(
                {"model": "res.partner", "id": self.partner.id, "values": {"name": "Other"}},
                self.thread, "w1")
        self.assertEqual(self.partner.name, "Alice A")

    def test_a_call_id_reused_by_a_later_answer_needs_its_own_approval(self):
        """Ollama numbers calls anew in every answer: call_0 approved once is not call_0 of
        the next answer, even with the same arguments."""
        self.ask_rename("call_0", "Alice B")
        self.decide("call_0", True)
        self.script(answer("Renamed."))
        self.generate(self.thread, None)
        self.assertEqual(self.partner.name, "Alice B")
        self.script(asks("call_0", "update_record", model="res.partner", id=self.partner.id,
                         values={"name": "Alice B"}))
        _response, events = self.generate(self.thread, "Once more")
        self.assertEqual(dict(events)["approval_required"]["call_id"], "call_0")
        self.assertEqual(events[-1][1]["state"], "approval")
        self.assertEqual(self.thread.approval_ids.mapped("state"), ["approved", "pending"])
        tool = self.env.ref("llm_thread.tool_update_record").with_user(self.user_a)
        with self.assertRaises(AccessError):
            tool._llm_execute({"model": "res.partner", "id": self.partner.id,
                               "values": {"name": "Alice B"}}, self.thread, "call_0")

    def test_retry_after_an_approved_write_resumes_from_its_result(self):
        """The model failed after the approved write ran: Retry answers from the call and its
        result, which stay (the write is neither made nor proposed again)."""
        self.ask_rename()
        self.decide("w1", True)
        self.script([base.ProviderError("Scripted", "auth", "Bad key.")])
        self.generate(self.thread, None)
        self.assertEqual(self.partner.name, "Alice Renamed")
        asked, failed = self.messages(self.thread, "assistant")
        self.assertTrue(failed.body_json["error"])
        self.script(answer("Renamed."))
        response, events = self.generate(self.thread, None, regenerate_message_id=failed.id)
        self.assertEqual(response.status_code, 200)
        sent = self.provider.requests[-1]["messages"][1:]  # after the system prompt
        self.assertEqual([m.role for m in sent], ["user", "assistant", "tool"])
        self.assertEqual(sent[1].tool_calls[0].id, "w1")
        self.assertEqual(self.text(events), "Renamed.")
        self.assertNotIn("approval_required", self.names(events))
        loaded = self.thread.with_user(self.user_a).llm_ui_load()["messages"]
        self.assertEqual([m["role"] for m in loaded], ["user", "assistant", "tool", "assistant"])
        self.assertEqual(loaded[1]["id"], asked.id, "the call stays shown, with its result")
        self.assertEqual(loaded[-1]["versions"], [failed.id, loaded[-1]["id"]])
        self.assertEqual(len(self.env["llm.tool.log"].search([("thread_id", "=", self.thread.id)])),
                         1, "the write ran once")

    def test_new_message_expires_waiting_calls(self):
        self.ask_rename()
        self.script(answer("Ok, forget it."))
        _response, events = self.generate(self.thread, "Actually, don't.")
        self.assertEqual(self.thread.approval_ids.state, "expired")
        self.assertEqual(self.text(events), "Ok, forget it.")
        roles = [m.role for m in self.provider.requests[1]["messages"][1:]]  # after the system prompt
        self.assertEqual(roles, ["user", "user"], "the unanswered call is left out")
        with self.assertRaises(Exception) as caught, mute_logger("odoo.http"):
            self.decide("w1", True)
        self.assertIn("UserError", str(caught.exception), "an expired call cannot be approved")
        self.assertEqual(self.partner.name, "Alice A")

    def test_read_calls_run_at_once_beside_a_waiting_write(self):
        self.script([base.ToolCallEvent(base.ToolCall("r1", "read_record", {
                        "model": "res.partner", "id": self.partner.id, "fields": ["name"]})),
                     *asks("w1", "update_record", model="res.partner", id=self.partner.id,
                           values={"name": "Alice B"})])
        _response, events = self.generate(self.thread, "Read and rename")
        finished = [p for n, p in events if n == "tool_call_finished"]
        self.assertEqual([p["call_id"] for p in finished], ["r1"])
        self.assertEqual([p["call_id"] for n, p in events if n == "approval_required"], ["w1"])
        self.decide("w1", True)
        self.script(answer("Done."))
        _response, events = self.generate(self.thread, None)
        self.assertEqual([p["call_id"] for n, p in events if n == "tool_call_finished"], ["w1"])
        self.assertEqual(self.partner.name, "Alice B")
        tool_messages = self.messages(self.thread, "tool")
        self.assertEqual([m.body_json["tool_call_id"] for m in tool_messages], ["r1", "w1"])
        self.assertIn("Alice A", lxml_html.fromstring(tool_messages[0].body).text_content())

    def test_audit_log_is_read_only_for_managers(self):
        self.thread.tool_names = ["read_record"]
        self.script(asks("r1", "read_record", model="res.partner", id=self.partner.id),
                    answer("ok"))
        self.generate(self.thread, "read")
        Log = self.env["llm.tool.log"]
        log = Log.search([("thread_id", "=", self.thread.id)])
        self.assertEqual(log.state, "done")
        manager = self.env.ref("base.user_admin")
        self.assertEqual(Log.with_user(manager).search([("id", "=", log.id)]), log)
        for user in (manager, self.user_a):
            with self.assertRaises(AccessError):
                log.with_user(user).write({"error": "erased"})
            with self.assertRaises(AccessError):
                log.with_user(user).unlink()
        with self.assertRaises(AccessError):
            Log.with_user(self.user_a).search([])
