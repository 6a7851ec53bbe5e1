import json
import os
import subprocess
import sys

from babel.dates import format_date

import odoo
from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import config, mute_logger

from ..engine import claim
from ..engine.tokens import estimate_tokens, message_tokens
from ..providers import base
from .engine_common import EngineCase, answer


def tool_call(call_id, name, **arguments):
    return base.ToolCallEvent(base.ToolCall(call_id, name, arguments))


def asks_tools(*calls):
    return [*calls, base.Usage(5, 5), base.Finish("tool_calls")]


@tagged("post_install", "-at_install")
class TestAgentLoop(EngineCase):

    def test_tool_results_are_fed_back(self):
        self.script(asks_tools(tool_call("c1", "read_record", model="res.users",
                                         id=self.user_a.id, fields=["login"])),
                    answer("You are llm_a."))
        _response, events = self.generate(self.thread, "Who am I?")
        finished = dict(events)["tool_call_finished"]
        self.assertEqual(finished["call_id"], "c1")
        self.assertIsNone(finished["error"])
        self.assertEqual(json.loads(finished["result"])["login"], "llm_a")
        tool_message = self.env["mail.message"].browse(finished["message_id"])
        self.assertEqual(tool_message.llm_role, "tool")
        self.assertEqual(tool_message.body_json["tool_call_id"], "c1")
        second = self.provider.requests[1]["messages"][1:]  # after the system prompt
        self.assertEqual([m.role for m in second], ["user", "assistant", "tool"])
        self.assertEqual(second[1].tool_calls[0].id, "c1")
        self.assertEqual(second[2].tool_call_id, "c1")
        self.assertEqual(self.text(events), "You are llm_a.")
        self.assertEqual(self.thread.generation_state, "idle")

    def test_forbidden_write_is_fed_back_and_nothing_written(self):
        company = self.env.company
        # Without approval (a manager's choice): the user's own rights are the safeguard.
        self.env.ref("llm_thread.tool_update_record").requires_approval = False
        self.thread.tool_names = ["update_record"]
        self.script(asks_tools(tool_call("w1", "update_record", model="res.company",
                                         id=company.id, values={"name": "Hijacked"})),
                    answer("I may not do that."))
        _response, events = self.generate(self.thread, "Rename the company")
        finished = dict(events)["tool_call_finished"]
        self.assertIsNone(finished["result"])
        self.assertIn("not allowed", finished["error"])
        fed_back = self.provider.requests[1]["messages"][-1]
        self.assertTrue(fed_back.is_error)
        self.assertIn("not allowed", fed_back.content)
        self.env.invalidate_all()
        self.assertNotEqual(company.name, "Hijacked")
        self.assertEqual(events[-1][1]["state"], "idle")

    def test_tool_not_enabled_is_refused(self):
        self.thread.tool_names = ["read_record"]
        self.script(asks_tools(tool_call("w1", "update_record", model="res.partner",
                                         id=self.user_a.partner_id.id, values={"name": "X"})),
                    answer("ok"))
        _response, events = self.generate(self.thread, "Rename me")
        # The user is told where to enable it, the tools named as the Tools menu names them;
        # the model gets the technical names it calls them by too.
        self.assertEqual(
            dict(events)["tool_call_finished"]["error"],
            'The tool "Update record" is not enabled in this conversation: enable it in the '
            "Tools menu at the top of the conversation, then ask again. Enabled tools: "
            "Read record (read_record).")
        self.assertNotEqual(self.user_a.partner_id.name, "X")
        log = self.env["llm.tool.log"].search([("call_id", "=", "w1")])
        self.assertEqual((log.tool_name, log.tool_id, log.state, log.user_id),
                         ("update_record", self.env["llm.tool"], "error", self.user_a),
                         "the refused call is in the audit log")
        self.assertIn("not enabled in this conversation", log.error)

    def test_unknown_tool_is_refused_naming_the_enabled_ones(self):
        self.thread.tool_names = []
        self.script(asks_tools(tool_call("w1", "launch_rockets")), answer("ok"))
        _response, events = self.generate(self.thread, "Launch")
        self.assertEqual(dict(events)["tool_call_finished"]["error"],
                         'There is no tool "launch_rockets" that you may use. Enabled tools: none.')

    def test_duplicate_calls_run_once_and_all_are_answered(self):
        runs = []
        Tool = type(self.env["llm.tool"])
        original = Tool._llm_tool_search_records

        def counting(tools, **arguments):
            runs.append(arguments)
            return original(tools, **arguments)

        self.patch(Tool, "_llm_tool_search_records", counting)
        search = {"model": "res.users", "domain": [["login", "=", "llm_b"]], "fields": ["login"]}
        self.script(asks_tools(tool_call("d1", "search_records", **search),
                               tool_call("d2", "search_records", **search),
                               tool_call("d3", "read_record", model="res.users",
                                         id=self.user_a.id, fields=["login"])),
                    answer("done"))
        _response, events = self.generate(self.thread, "Find llm_b twice")
        self.assertEqual(len(runs), 1, "identical calls of one turn run once")
        finished = {p["call_id"]: p for name, p in events if name == "tool_call_finished"}
        self.assertEqual(set(finished), {"d1", "d2", "d3"}, "every call gets its result")
        self.assertEqual(finished["d1"]["result"], finished["d2"]["result"])
        self.assertEqual({m.tool_call_id for m in self.provider.requests[1]["messages"]
                          if m.role == "tool"}, {"d1", "d2", "d3"})

    def test_iteration_bound(self):
        self.env["ir.config_parameter"].sudo().set_param("llm_thread.max_iterations", 2)
        call = tool_call("x", "read_record", model="res.users", id=self.user_a.id)
        self.script(asks_tools(call), asks_tools(call), answer("never asked"))
        _response, events = self.generate(self.thread, "Loop forever")
        self.assertEqual(len(self.provider.requests), 2, "the model is called twice, no more")
        error = dict(events)["error"]
        self.assertEqual(error["code"], "iteration_limit")
        self.assertIn("2 steps", error["message"])
        last = self.messages(self.thread, "assistant")[-1]
        self.assertEqual(error["message_id"], last.id)
        self.assertEqual(last.body_json["error"]["code"], "iteration_limit")
        self.assertEqual(self.thread.generation_state, "error")


@tagged("post_install", "-at_install")
class TestContext(EngineCase):

    def post(self, role, text, **data):
        return self.thread.sudo().message_post(body=text, llm_role=role, body_json=data or None,
                                        message_type="comment", subtype_xmlid="mail.mt_note")

    def test_message_post_seed_api(self):
        message = self.post("assistant", "**bold** <tag> & `code`")
        self.assertEqual(message.llm_role, "assistant")
        units = self.thread._llm_history_units()
        self.assertEqual(units[-1][0].content, "**bold** <tag> & `code`")

    def test_trimming_keeps_newest_and_tool_groups(self):
        thread = self.thread.with_user(self.user_a)
        thread.system_prompt = "Be brief."
        for index in range(6):
            self.post("user", f"old question {index} " + "x" * 400)
            self.post("assistant", f"old answer {index} " + "y" * 400)
        self.post("user", "use a tool")
        self.post("assistant", "", tool_calls=[{"id": "t1", "name": "read_record",
                                                "arguments": {"model": "res.users", "id": 1}}])
        self.post("tool", "z" * 400, tool_call_id="t1", name="read_record")
        self.post("assistant", "final")
        self.post("user", "newest")
        cost = [sum(message_tokens(m) for m in unit) for unit in thread._llm_history_units()]
        system_prompt = "Be brief.\n\n" + thread._llm_user_context()
        reserve, system = 256, estimate_tokens(system_prompt)
        messages = thread._llm_build_messages(reserve + system + sum(cost[-4:]), reserve)
        self.assertEqual(messages[0], base.ChatMessage("system", system_prompt))
        self.assertEqual([m.role for m in messages[1:]],
                         ["user", "assistant", "tool", "assistant", "user"],
                         "newest first, the tool call with its result; older turns are cut")
        self.assertEqual([m.content for m in messages[-2:]], ["final", "newest"])
        # One token short of the tool group: it goes as a whole, and everything older with it.
        messages = thread._llm_build_messages(reserve + system + sum(cost[-3:]) - 1, reserve)
        self.assertEqual([m.role for m in messages], ["system", "assistant", "user"])

    def test_unanswered_tool_calls_are_dropped(self):
        self.post("user", "q")
        self.post("assistant", "", tool_calls=[{"id": "lost", "name": "read_record",
                                                "arguments": {}}])
        self.post("user", "again")
        roles = [m.role for unit in self.thread._llm_history_units() for m in unit]
        self.assertEqual(roles, ["user", "user"])

    def test_call_ids_reused_by_a_later_answer_match_their_own_results(self):
        """Ollama numbers calls anew in every answer: "call_0" answered once does not make a
        later, unanswered "call_0" look answered."""
        call = {"id": "call_0", "name": "read_record", "arguments": {}}
        self.post("user", "q1")
        self.post("assistant", "", tool_calls=[call])
        self.post("tool", "first result", tool_call_id="call_0", name="read_record")
        self.post("assistant", "a1")
        self.post("user", "q2")
        self.post("assistant", "", tool_calls=[call])  # interrupted: no result
        self.post("user", "q3")
        units = self.thread._llm_history_units()
        self.assertEqual([[m.role for m in unit] for unit in units],
                         [["user"], ["assistant", "tool"], ["assistant"], ["user"], ["user"]])
        self.assertEqual(units[1][1].content, "first result")

    def test_linked_record_described_with_access_check(self):
        partner = self.env["res.partner"].create({"name": "Acme Corp", "city": "Liège"})
        thread = self.thread.with_user(self.user_a)
        thread.write({"res_model": "res.partner", "res_id": partner.id})
        self.assertEqual(thread._llm_record(), partner.with_user(self.user_a))
        system = thread._llm_build_messages(100_000, 256)[0]
        self.assertIn("Acme Corp", system.content)
        self.assertIn("Liège", system.content)
        # A record the user may not read (someone else's conversation) is not described; the
        # user cannot link one, but a record they could read can stop being readable.
        other = self.env["llm.thread"].with_user(self.user_b).create({"name": "B's secret"})
        thread.sudo().write({"res_model": "llm.thread", "res_id": other.id})
        system = thread._llm_build_messages(100_000, 256)[0]
        self.assertNotIn("B's secret", system.content)
        self.assertNotIn("This conversation is about", system.content)

    def test_a_deleted_linked_record_is_said_deleted(self):
        """The model is told the record is gone rather than nothing, so that it does not
        answer as if the conversation had no record, or guess one."""
        partner = self.env["res.partner"].create({"name": "Gone Corp"})
        thread = self.thread.with_user(self.user_a)
        thread.write({"res_model": "res.partner", "res_id": partner.id})
        partner.unlink()
        system = thread._llm_build_messages(100_000, 256)[0]
        self.assertIn(f"(Contact, model res.partner, id {partner.id}) that no longer exists",
                      system.content)
        self.assertNotIn("This conversation is about", system.content)

    def test_selection_fields_are_described_by_label_and_value(self):
        partner = self.env["res.partner"].create({"name": "Acme Corp", "type": "invoice"})
        thread = self.thread.with_user(self.user_a)
        thread.write({"res_model": "res.partner", "res_id": partner.id})
        system = thread._llm_build_messages(100_000, 256)[0]
        self.assertIn("- Address Type: Invoice Address (invoice)", system.content)

    def test_the_model_knows_today_the_time_zone_and_the_language(self):
        """Questions about "overdue" or "this month" need today's date, which the model cannot
        know; an answer in the user's language needs to know it."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.user_a.write({"tz": "Pacific/Auckland", "lang": "fr_FR"})
        thread = self.thread.with_user(self.user_a).with_context(
            tz="Pacific/Auckland", lang="fr_FR")
        today = fields.Date.context_today(thread)
        system = thread._llm_build_messages(100_000, 256)[0]
        self.assertEqual(system.role, "system")
        self.assertIn(today.isoformat(), system.content)
        self.assertIn("Pacific/Auckland", system.content)
        self.assertIn("fr_FR", system.content)
        self.assertIn(format_date(today, "EEEE", locale="fr_FR"), system.content)


@tagged("post_install", "-at_install")
class TestAccessAndLocking(EngineCase):

    def test_record_rules(self):
        with self.assertRaises(AccessError):
            self.thread.with_user(self.user_b).read(["name"])
        with self.assertRaises(AccessError):
            self.thread.with_user(self.user_b).write({"name": "mine"})
        self.assertFalse(self.env["llm.thread"].with_user(self.user_b).search(
            [("id", "=", self.thread.id)]))
        manager = self.env.ref("base.user_admin")
        self.assertTrue(self.thread.with_user(manager).read(["name"]), "managers may audit")
        with self.assertRaises(AccessError):
            self.thread.with_user(manager).write({"name": "audited"})
        with self.assertRaises(AccessError):
            self.thread.with_user(manager)._llm_generate("talking in A's name")
        with self.assertRaises(AccessError):
            next(self.thread.with_user(manager).generate("talking in A's name"))
        own = self.env["llm.thread"].with_user(self.user_b).create({"name": "B's"})
        own.unlink()
        self.assertFalse(own.exists())

    def test_claim_staleness(self):
        cr = self.env.cr
        alive = claim.Liveness.owner_key(self.registry)
        now = fields.Datetime.now()
        self.assertFalse(claim.claim_is_stale(cr, alive, now))
        self.assertTrue(claim.claim_is_stale(
            cr, alive, now - claim.STALE_AFTER * 2), "heartbeat too old")
        self.assertTrue(claim.claim_is_stale(cr, 0, now))

    def claim_for_a_killed_process(self):
        """Claims the thread for another Odoo process (its liveness lock taken through the
        real ``Liveness``), checks the claim holds while it lives, then kills it -9 and waits
        until PostgreSQL has ended its session."""
        settings = {key: config[key] for key in (
            "addons_path", "db_host", "db_port", "db_user", "db_password")}
        source = os.path.dirname(os.path.dirname(odoo.__file__))
        owner = subprocess.Popen(
            [sys.executable, "-c", OWNER_PROCESS, json.dumps(settings), self.env.cr.dbname],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": source})
        self.addCleanup(owner.kill)
        owner_pid = int(owner.stdout.readline())
        self.thread.sudo().write({
            "generation_state": "generating", "generation_owner": owner_pid,
            "generation_heartbeat": fields.Datetime.now(), "generation_token": "dead-process",
        })
        self.script(answer("never"))  # not used while the owner lives
        busy, _events = self.generate(self.thread, "while it lives")
        self.assertEqual(busy.status_code, 409, "a live owner keeps its claim")

        owner.kill()
        owner.wait()
        # Block until PostgreSQL has ended the dead process's session (and its lock).
        cr = self.env.cr
        cr.execute("SET lock_timeout = '20s'")
        cr.execute("SELECT pg_advisory_lock(%s, %s), pg_advisory_unlock(%s, %s)",
                   (claim.LIVENESS_NAMESPACE, owner_pid) * 2)
        cr.execute("RESET lock_timeout")

    @mute_logger("odoo.addons.llm_thread.models.llm_thread")
    def test_stale_lock_recovered_after_owner_killed(self):
        """A process holding a generation is killed -9: the next generate takes over."""
        self.claim_for_a_killed_process()
        response, events = self.generate(self.thread, "after the crash")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.text(events), "never")
        self.assertEqual(self.thread.generation_state, "idle")

    def test_server_start_releases_the_claims_of_a_killed_process(self):
        """Restarted after a kill -9, the server releases the dead process's claims as its
        registry loads (``_register_hook``), not minutes later with the cron: the other tabs
        are told, and their composer unlocks."""
        self.claim_for_a_killed_process()
        self.env["bus.bus"].search([]).unlink()
        self.env["llm.thread"]._register_hook()
        self.env.invalidate_all()
        self.assertEqual(self.thread.generation_state, "error")
        self.assertEqual(self.thread.generation_error, "The generation was interrupted.")
        self.assertFalse(self.thread.generation_token)
        self.env.cr.precommit.run()  # the bus notification is queued for the commit
        notified = [json.loads(n.message) for n in self.env["bus.bus"].search([])]
        self.assertIn({"type": "llm_thread/generation_state",
                       "payload": {"thread_id": self.thread.id, "state": "error"}}, notified)


# An Odoo process that claimed a generation: it imports Odoo and this addon, and takes its
# liveness lock through the real claim.Liveness, as generate() does; then it waits to
# be killed.
OWNER_PROCESS = """
import json, sys, types
from odoo.modules.module import initialize_sys_path
from odoo.tools import config
for key, value in json.loads(sys.argv[1]).items():
    config[key] = value
initialize_sys_path()
from odoo.addons.llm_thread.engine import claim
registry = types.SimpleNamespace(db_name=sys.argv[2])
print(claim.Liveness.owner_key(registry), flush=True)
sys.stdin.read()
"""
