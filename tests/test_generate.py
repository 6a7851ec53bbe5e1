import json
import time

from lxml import html as lxml_html

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..engine import claim, generation
from ..engine.protocol import EVENTS, GENERATION_STATE_NOTIFICATION, STORED_BODY_KEYS
from ..engine.tokens import estimate_prompt_tokens
from ..models.llm_thread import MAX_MESSAGE_CHARS, LlmBusyError
from ..providers import base
from .engine_common import WAIT, EngineCase, Gate, answer, iter_sse, parse_sse


MARKDOWN = "# Plan\n\n* a <b>bold</b> & *x*\n\n```py\nif a < b:\n    pass\n```\n"


@tagged("post_install", "-at_install")
class TestGenerateRoute(EngineCase):

    def test_stream_protocol_and_storage(self):
        chunks = [MARKDOWN[i:i + 4] for i in range(0, len(MARKDOWN), 4)]
        self.script(answer(*chunks))
        response, events = self.generate(self.thread, "Make a plan")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "text/event-stream")
        self.assertEqual(response.headers["Cache-Control"], "no-cache")
        self.assertEqual(response.headers["X-Accel-Buffering"], "no")
        for name, payload in events:
            self.assertEqual(payload.keys(), EVENTS[name].keys(), name)
        user, assistant = self.messages(self.thread)
        self.assertEqual(self.names(events)[:2], ["message_created", "message_created"])
        self.assertEqual(events[0][1], {"message_id": user.id, "role": "user"})
        self.assertEqual(events[1][1], {"message_id": assistant.id, "role": "assistant"})
        self.assertEqual(self.names(events)[-3:], ["usage", "message_final", "done"])
        self.assertEqual(self.text(events, assistant.id), MARKDOWN, "deltas add up to the answer")
        self.assertEqual(events[-1][1], {"thread_id": self.thread.id, "state": "idle"})
        # Stored: the raw markdown reads back exactly; usage and finish reason in body_json.
        self.assertEqual(user.llm_role, "user")
        self.assertEqual(lxml_html.fromstring(user.body).text_content(), "Make a plan")
        self.assertEqual(assistant.llm_role, "assistant")
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(), MARKDOWN)
        self.assertEqual(assistant.body_json["usage"], {
            "input_tokens": 12, "output_tokens": 34, "cost": 0.0,  # the model has no prices
            "currency": self.env.company.currency_id.name, "model": "Scripted",
            "provider": "Scripted"})
        self.assertEqual(assistant.body_json["finish_reason"], "stop")
        self.assertLessEqual(assistant.body_json.keys(), set(STORED_BODY_KEYS))
        self.assertEqual(self.thread.generation_state, "idle")
        self.assertFalse(self.thread.generation_token)
        # The model saw the user's message.
        self.assertEqual(self.provider.requests[0]["messages"][-1],
                         base.ChatMessage("user", "Make a plan"))

    def test_the_answer_runs_in_the_company_chosen_in_the_switcher(self):
        """The usage of an answer sent with another company chosen in the switcher is that
        company's, in its currency (and so are its budgets), when its provider is shared
        between companies (one of a company counts in that company: test_usage). It was the
        user's default company's: the route got no company from the client."""
        self.provider_record.company_id = False
        euro = self.env.ref("base.EUR")
        euro.active = True
        other = self.env["res.company"].create({"name": "Second company", "currency_id": euro.id})
        self.user_a.company_ids |= other
        self.script(answer("Hi"))
        self.generate(self.thread, "Hello", companies=other | self.env.company)
        usage = self.env["llm.usage"].search([("thread_id", "=", self.thread.id)])
        self.assertEqual((usage.company_id, usage.currency_id), (other, euro))
        self.script(answer("Hi again"))
        self.generate(self.thread, "Hello", companies=self.env.company | other)
        usage = self.env["llm.usage"].search([("thread_id", "=", self.thread.id)], order="id")
        self.assertEqual(usage[-1].company_id, self.env.company)

    @mute_logger("odoo.http")
    def test_missing_csrf_refused(self):
        self.script(answer("never"))
        response = self.post_generate(self.thread, "hello", csrf=False)
        self.assertEqual(response.status_code, 400)
        self.assertIn("CSRF", response.text)
        self.assertFalse(self.messages(self.thread), "nothing posted")
        self.assertEqual(len(self.provider.scripts), 1, "the provider was not called")

    def test_message_too_long_refused(self):
        response = self.post_generate(self.thread, "x" * 1_000_000)
        self.assertEqual(response.status_code, 413)
        error = response.json()["error"]
        self.assertEqual(error["code"], "too_long")
        # As the user reads numbers: "1,000,000 characters; the limit is 100,000".
        self.assertIn(f"(1,000,000 characters; the limit is {MAX_MESSAGE_CHARS:,})",
                      error["message"])
        self.assertFalse(self.messages(self.thread))

    @mute_logger("odoo.http")
    def test_other_users_thread_refused(self):
        self.script(answer("never"))
        response = self.post_generate(self.thread, "hello", login="llm_b")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json()["error"]["code"], "not_found")
        for route, params in (("stop", {}), ("update", {"values": {"name": "mine now"}})):
            with self.assertRaises(Exception, msg=route) as caught:
                self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/{route}", params)
            self.assertIn("AccessError", str(caught.exception))
        self.env.invalidate_all()
        self.assertEqual(self.thread.name, "A's chat")
        self.assertFalse(self.messages(self.thread))

    @mute_logger("odoo.http")
    def test_update_whitelist(self):
        self.authenticate("llm_a", "llm_a_password_1")
        result = self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/update",
                                           {"values": {"name": "Renamed"}})
        self.assertEqual(result["name"], "Renamed")
        with self.assertRaises(Exception) as caught:
            self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/update",
                                      {"values": {"user_id": self.user_b.id}})
        self.assertIn("UserError", str(caught.exception))
        self.env.invalidate_all()
        self.assertEqual(self.thread.user_id, self.user_a)
        # Only a chat model the user may pick, with its own provider.
        embedding = self.env["llm.model"].create({
            "name": "Embedder", "api_id": "embed", "use": "embedding",
            "provider_id": self.provider_record.id})
        other = self.env["llm.provider"].create({
            "name": "Other", "api_format": "openai", "base_url": "http://other.invalid/v1"})
        for values in ({"model_id": embedding.id},
                       {"model_id": self.model.id, "provider_id": other.id}):
            with self.subTest(values=values), \
                    self.assertRaisesRegex(UserError, "not available for chatting"):
                self.thread.with_user(self.user_a).llm_update(values)
        self.env.invalidate_all()
        self.assertEqual(self.thread.model_id, self.model)

    def test_concurrent_generate_one_wins(self):
        gate = Gate()
        self.script([base.TextDelta("first "), gate, *answer("answer")])
        first = self.post_generate(self.thread, "one", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        second = self.post_generate(self.thread, "two")
        self.assertEqual(second.status_code, 409)
        self.assertEqual(second.json()["error"]["code"], "already_generating")
        self.assertIn("already generating", second.json()["error"]["message"])
        gate.open()
        events = parse_sse(first.iter_lines())
        self.env.invalidate_all()
        self.assertEqual(self.text(events), "first answer")
        self.assertEqual([m.body for m in self.messages(self.thread, "user")], ["<p>one</p>"],
                         "the refused request posted nothing")
        self.assertEqual(self.thread.generation_state, "idle")

    def test_first_message_names_the_thread_in_the_same_transaction(self):
        """A conversation with its default name is named after its first message by the send
        itself: a second write of the thread by the client raced with the claim (409)."""
        Thread = self.env["llm.thread"].with_user(self.user_a)
        values = {"provider_id": self.provider_record.id, "model_id": self.model.id}
        short, long_, named = Thread.create([values, values, {**values, "name": "Kept"}])
        self.assertEqual(short.name, "New conversation")
        self.script(answer("a"), answer("b"), answer("c"), answer("d"))
        self.generate(short, "  Which companies are in my contacts?\nAnd their cities")
        self.assertEqual(short.name, "Which companies are in my contacts?")
        self.assertEqual(self.messages(short, "user").record_name, short.name)
        self.generate(long_, "x" * 70)
        self.assertEqual(long_.name, "x" * 57 + "…")
        self.generate(named, "Not a title")
        self.assertEqual(named.name, "Kept", "a name given by the user is kept")
        short.name = "New conversation"
        self.generate(short, "A later message")
        self.assertEqual(short.name, "New conversation", "only the first message names it")

    def test_serialization_failure_at_the_claim_is_retried_not_refused(self):
        """A write of the thread committed after the send's transaction began (a rename in
        another request) makes the claim fail to serialize: the send is retried by Odoo in a
        new transaction, quietly, instead of answering "already generating" (409) about a
        conversation nobody generates in. In the test, the failure is PostgreSQL's own error,
        raised at the claim on the request's connection (all requests share the test's
        transaction, so a real concurrent commit cannot happen here)."""
        owner_key = claim.Liveness.owner_key
        conflicts = []

        def conflict_once(registry):
            if not conflicts:
                conflicts.append(True)
                self.env.cr.execute("""DO $$ BEGIN RAISE EXCEPTION 'could not serialize access
                    due to concurrent update' USING ERRCODE = 'serialization_failure'; END $$""",
                                    log_exceptions=False)
            return owner_key(registry)

        self.patch(claim.Liveness, "owner_key", conflict_once)
        self.script(answer("Hello."))
        with self.assertNoLogs(level="WARNING"):
            response, events = self.generate(self.thread, "hi")
        self.assertEqual(conflicts, [True])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.text(events), "Hello.")
        self.assertEqual(len(self.messages(self.thread, "user")), 1, "posted once")
        self.assertEqual(self.thread.generation_state, "idle")

    def test_takeover_mid_stream_is_an_sse_error(self):
        """A generation whose claim another process took over (it looked dead to it) ends with
        an "already generating" SSE error, its partial answer kept."""
        gate = Gate()
        self.script([base.TextDelta("stale "), gate, *answer("never sent")])
        response = self.post_generate(self.thread, "question", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        with self.registry.cursor() as cr:  # what a takeover in _llm_claim writes
            cr.execute("UPDATE llm_thread SET generation_token = 'taken-over' WHERE id = %s",
                       (self.thread.id,))
        events = parse_sse(response.iter_lines())
        self.env.invalidate_all()
        self.assertEqual(self.names(events)[-3:], ["message_final", "error", "done"])
        error = dict(events)["error"]
        self.assertEqual(error["code"], "already_generating")
        self.assertIn("took over", error["message"])
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(error["message_id"], assistant.id)
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(), "stale ")
        self.assertEqual(assistant.body_json["finish_reason"], "lost")
        self.assertEqual(events[-1][1]["state"], "generating", "the thread is the other's now")
        self.assertEqual(self.thread.generation_token, "taken-over", "the new claim is untouched")

    def test_conversation_gone_mid_answer_ends_it_quietly(self):
        """A conversation deleted under its answer without unlink's check (the database
        cascading from its owner's deleted user): the run stops at its next read of the
        thread, as if stopped, with no error in the log."""
        gate = Gate()
        self.script([gate, *answer("never sent")])
        thread = self.env["llm.thread"].with_user(self.user_a).create({
            "name": "Doomed", "provider_id": self.provider_record.id, "model_id": self.model.id})
        with self.assertNoLogs(level="WARNING"):
            response = self.post_generate(thread, "question", stream=True)
            self.assertTrue(gate.reached.wait(WAIT))
            with self.registry.cursor() as cr:
                cr.execute("DELETE FROM llm_thread WHERE id = %s", (thread.id,))
            events = parse_sse(response.iter_lines())
        self.assertEqual(self.names(events), ["message_created", "done"])
        self.assertEqual(events[-1][1], {"thread_id": thread.id, "state": "idle"})
        self.env.invalidate_all()
        self.assertFalse(self.messages(thread, "assistant"), "the empty answer is not kept")

    def test_reasoning_duration_is_stored(self):
        self.script([base.ReasoningDelta("Let me think."), *answer("Done.")])
        _response, events = self.generate(self.thread, "Think first")
        self.assertEqual(self.names(events)[2:4], ["reasoning_delta", "text_delta"])
        data = self.messages(self.thread, "assistant").body_json
        self.assertEqual(data["reasoning"], "Let me think.")
        self.assertGreaterEqual(data["reasoning_seconds"], 1)
        loaded = self.thread.with_user(self.user_a).llm_ui_load()["messages"][-1]
        self.assertEqual(loaded["data"]["reasoning_seconds"], data["reasoning_seconds"])

    def test_state_changes_are_pushed_to_the_owner(self):
        # The start is announced at the first sync: make it the first provider event.
        self.patch(generation, "STOP_POLL_INTERVAL", 0)
        self.script(answer("Hi."))
        self.generate(self.thread, "hello")
        notifications = self.env["bus.bus"].sudo().search([], order="id")
        channel = json.dumps([self.env.cr.dbname, "res.partner", self.user_a.partner_id.id],
                             separators=(",", ":"))
        states = [json.loads(n.message)["payload"] for n in notifications
                  if n.channel == channel
                  and json.loads(n.message)["type"] == GENERATION_STATE_NOTIFICATION]
        self.assertEqual(states, [{"thread_id": self.thread.id, "state": "generating"},
                                  {"thread_id": self.thread.id, "state": "idle"}])

    def test_heartbeats_while_a_tool_runs(self):
        self.patch(generation, "HEARTBEAT_EVENT_INTERVAL", 0.2)
        gate = Gate()
        execute = generation.Generation._execute_tool

        def slow_tool(running, *call_and_tool):
            gate.reached.set()
            gate.opened.wait(WAIT)
            return execute(running, *call_and_tool)

        self.patch(generation.Generation, "_execute_tool", slow_tool)
        call = base.ToolCall("c1", "read_record", {"model": "res.users", "id": self.user_a.id})
        self.script([base.ToolCallEvent(call), base.Finish("tool_calls")], answer("Found."))
        response = self.post_generate(self.thread, "Who am I?", stream=True)
        events = []
        # One byte at a time: each event is seen as it arrives, not when a buffer fills up.
        for name_payload in iter_sse(response.iter_lines(chunk_size=1)):
            events.append(name_payload)
            if name_payload[0] == "heartbeat" and gate.reached.is_set():
                gate.open()  # a heartbeat came while the tool was running
        self.assertTrue(gate.opened.is_set(), "no heartbeat while the tool ran")
        names = self.names(events)
        self.assertLess(names.index("tool_call_started"), names.index("heartbeat"))
        self.assertLess(names.index("heartbeat"), names.index("tool_call_finished"))
        self.assertEqual(names[-1], "done")

    def test_stop(self):
        gate = Gate()
        self.script([base.TextDelta("partial "), base.TextDelta("answer"), gate,
                     *answer("never sent")])
        response = self.post_generate(self.thread, "long question", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        result = self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/stop", {})
        self.assertEqual(result, {"stopping": True})
        events = parse_sse(response.iter_lines())
        self.env.invalidate_all()
        final = dict(events)["message_final"]
        self.assertTrue(final["stopped"])
        self.assertIsNone(final["error"])
        self.assertEqual(self.names(events)[-1], "done")
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(), "partial answer")
        self.assertTrue(assistant.body_json["stopped"])
        self.assertEqual(assistant.body_json["finish_reason"], "stopped")
        self.assertEqual(self.thread.generation_state, "idle")
        self.assertFalse(self.thread.generation_stop_requested)

    def test_stop_before_the_answer_began(self):
        """The answer's message exists from the send on, but until something comes nobody is
        told of it (a reload shows the question alone); stopped then, it is removed: the
        question reads as stopped before the answer started. Its prompt was sent, which
        providers bill: it is counted, estimated."""
        gate = Gate()
        self.script([gate, *answer("never sent")])
        response = self.post_generate(self.thread, "question", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        with self.registry.cursor() as cr:  # as a reload would, while the answer waits
            thread = self.thread.with_env(self.thread.env(cr=cr, user=self.user_a))
            self.assertEqual([m["role"] for m in thread.llm_ui_load()["messages"]], ["user"])
            cr.execute("SELECT count(*) FROM mail_message WHERE model = 'llm.thread' "
                       "AND res_id = %s AND llm_role = 'assistant'", (self.thread.id,))
            self.assertEqual(cr.fetchone()[0], 1, "created by the send")
        self.assertEqual(self.make_jsonrpc_request(f"/llm/thread/{self.thread.id}/stop", {}),
                         {"stopping": True})
        gate.open()
        events = parse_sse(response.iter_lines())
        self.assertEqual(self.names(events), ["message_created", "done"])
        self.env.invalidate_all()
        self.assertFalse(self.messages(self.thread, "assistant"))
        usage = self.env["llm.usage"].search([("thread_id", "=", self.thread.id)])
        request = self.provider.requests[0]
        self.assertRecordValues(usage, [{
            "input_tokens": estimate_prompt_tokens(request["messages"], request["tools"]),
            "output_tokens": 0, "estimated": True, "message_id": False}])
        self.assertEqual(self.thread.generation_state, "idle")

    def test_partial_answer_stored_from_the_first_token_marked_interrupted(self):
        """What the user saw is saved right after it was sent (the first delta goes out
        first: no database write is on its way), marked interrupted until the final write:
        a process killed before the half-second flush loses nothing shown but the delta
        being saved, and an answer cut by a crash never reads as complete."""
        gate = Gate()
        self.script([base.TextDelta("first words"), gate, *answer(" and the rest")])
        response = self.post_generate(self.thread, "question", stream=True)
        events = iter_sse(response.iter_lines())
        answer_id = next(payload["message_id"] for name, payload in events
                         if name == "message_created" and payload["role"] == "assistant")
        self.assertEqual(next(name for name, _payload in events), "text_delta")
        self.assertTrue(gate.reached.wait(WAIT))
        deadline = time.monotonic() + WAIT
        while True:
            # A cursor of its own: serialised with the run's transactions in tests.
            with self.registry.cursor() as cr:
                cr.execute("SELECT body, body_json FROM mail_message WHERE id = %s",
                           (answer_id,))
                body, data = cr.fetchone()
            if body or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.assertEqual(lxml_html.fromstring(body).text_content(), "first words")
        self.assertEqual(data["finish_reason"], "interrupted")
        self.assertTrue(data["interrupted"])
        gate.open()
        self.assertEqual(list(events)[-1][0], "done")
        self.env.invalidate_all()
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(assistant.body_json["finish_reason"], "stop")
        self.assertNotIn("interrupted", assistant.body_json)
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(),
                         "first words and the rest")

    def test_closed_tab_does_not_stop_the_answer(self):
        """The only tab closes mid-answer: the answer is still written to its end, and a tab
        opened later finds it complete (the stream route says nothing runs any more)."""
        gate = Gate()
        self.script([base.TextDelta("half an "), gate, *answer("answer")])
        response = self.post_generate(self.thread, "question", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        run = self.running(self.thread)
        response.close()  # a browser tab closing: the server sees the connection end
        gate.open()
        self.assertEqual(run.wait(WAIT), "idle")
        self.env.invalidate_all()
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(lxml_html.fromstring(assistant.body).text_content(),
                         "half an answer")
        self.assertEqual(assistant.body_json["finish_reason"], "stop")
        self.assertFalse(assistant.body_json.get("stopped"))
        self.assertEqual(self.thread.generation_state, "idle")
        response = self.url_open(f"/llm/thread/{self.thread.id}/stream")
        self.assertEqual(parse_sse(response.text.splitlines()),
                         [("done", {"thread_id": self.thread.id, "state": "idle"})])

    def test_provider_faults_surface_as_sse_errors(self):
        kinds = ["connection", "timeout", "auth", "not_found", "bad_request", "rate_limit",
                 "server", "protocol"]
        for kind in kinds:
            with self.subTest(kind=kind):
                fault = base.ProviderError("Scripted", kind, f"Scripted says {kind}.")
                self.script([base.TextDelta("partial"), fault])
                response, events = self.generate(self.thread, f"question {kind}")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(self.names(events)[-3:], ["message_final", "error", "done"])
                error = dict(events)["error"]
                self.assertEqual(error["code"], kind)
                self.assertEqual(error["message"], f"Scripted says {kind}.")
                self.assertEqual(events[-1][1]["state"], "error")
                user, assistant = self.messages(self.thread)[-2:]
                self.assertEqual(user.body, f"<p>question {kind}</p>", "the user's message is kept")
                self.assertEqual(error["message_id"], assistant.id)
                self.assertEqual(lxml_html.fromstring(assistant.body).text_content(), "partial")
                self.assertEqual(assistant.body_json["error"],
                                 {"code": kind, "message": f"Scripted says {kind}."})
                self.assertEqual(self.thread.generation_state, "error")
                self.assertEqual(self.thread.generation_error, f"Scripted says {kind}.")

    def test_fault_before_first_token_is_recorded(self):
        self.script([base.ProviderError("Scripted", "auth", "Check the API key.")])
        _response, events = self.generate(self.thread, "hello")
        assistant = self.messages(self.thread, "assistant")
        self.assertEqual(assistant.body_json["error"]["code"], "auth")
        self.assertEqual(dict(events)["error"]["message_id"], assistant.id)
        # An answer that failed before its first token is left out of the next context.
        self.script(answer("fine"))
        self.generate(self.thread, "again")
        roles = [m.role for m in self.provider.requests[-1]["messages"][1:]]  # after the system prompt
        self.assertEqual(roles, ["user", "user"])

    def test_busy_python_api(self):
        gate = Gate()
        self.script([gate, *answer("done")])
        response = self.post_generate(self.thread, "one", stream=True)
        self.assertTrue(gate.reached.wait(WAIT))
        with self.assertRaises(LlmBusyError):
            with self.registry.cursor() as cr:
                self.thread.with_env(self.thread.env(cr=cr))._llm_generate("two")
        gate.open()
        self.assertEqual(parse_sse(response.iter_lines())[-1][1]["state"], "idle")

