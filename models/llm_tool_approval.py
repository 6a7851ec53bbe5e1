"""Approval of the tool calls that change data.

When the model asks for a call whose tool requires approval, the generation records a
pending ``llm.tool.approval`` (with a readable preview), ends with the thread in the
"approval" state and sends ``approval_required``. The thread's owner approves or denies each
call (``POST /llm/thread/<id>/decide``); the client then calls the generate route again
without a message: approved calls run, denied ones go back to the model as a tool error, and
the model answers.

Users can read their approvals but never create or write them: decisions are recorded only
by ``llm.thread._llm_decide``, for the owner, and ``llm.tool._llm_execute`` refuses a call
without an approval recorded by the owner for exactly that call and those arguments.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..providers.base import ToolCall
from .llm_tool_registry import ToolError

DECIDABLE = ("pending",)


class LlmToolApproval(models.Model):
    _name = "llm.tool.approval"
    _description = "LLM Tool Call Approval"
    _order = "id"

    thread_id = fields.Many2one("llm.thread", required=True, index=True, ondelete="cascade",
                                readonly=True)
    message_id = fields.Many2one("mail.message", "Asked In", required=True, ondelete="cascade",
                                 readonly=True)
    call_id = fields.Char(required=True, readonly=True)
    tool_id = fields.Many2one("llm.tool", required=True, ondelete="cascade", readonly=True)
    arguments = fields.Json(readonly=True)
    preview = fields.Json(readonly=True)
    state = fields.Selection(
        [("pending", "Waiting"), ("approved", "Approved"), ("denied", "Denied"),
         ("expired", "Expired")],
        required=True, default="pending", readonly=True,
        help="Expired: the user sent a new message instead of deciding.")
    decided_by_id = fields.Many2one("res.users", "Decided By", readonly=True)
    decided_at = fields.Datetime(readonly=True)
    used = fields.Boolean(readonly=True, copy=False,
                          help="The approved call ran: an approval runs its call once.")

    # Per asking message: some providers (Ollama) number calls anew at every turn.
    _sql_constraints = [("call_unique", "unique(message_id, call_id)",
                         "A tool call is approved once.")]

    @api.model
    def _llm_check_approved(self, thread, call_id, tool, arguments):
        """Raise unless the thread's owner approved this very call (same tool, same
        arguments). Denied calls raise the message the model gets back."""
        # The latest call of that id: the one of the answer being continued.
        approval = self.sudo().search([("thread_id", "=", thread.id), ("call_id", "=", call_id)],
                                      order="id desc", limit=1)
        approval = approval.filtered(lambda a: a.tool_id == tool)
        if approval.state == "denied":
            raise ToolError(self.env._("The user denied this action."))
        if approval.state != "approved" or approval.decided_by_id != thread.user_id \
                or approval.arguments != arguments:
            raise AccessError(self.env._(
                "The tool %s changes data: it runs only after the conversation's owner "
                "approved this call.", tool.name))
        # Single use, marked in the call's own transaction (undone if it fails) with a check
        # and set in one statement: a call replayed, or run twice at once, finds it used.
        self.env.cr.execute("UPDATE llm_tool_approval SET used = TRUE "
                            "WHERE id = %s AND used IS NOT TRUE", (approval.id,))
        if not self.env.cr.rowcount:
            raise AccessError(self.env._(
                "This approved call of %s already ran: an approval runs its call once; ask "
                "again to run it again.", tool.name))
        approval.invalidate_recordset(["used"])

    def _llm_summary(self):
        return {approval.call_id: {"state": approval.state, "preview": approval.preview or {},
                                   "decided_by": approval.decided_by_id.name or ""}
                for approval in self}


class LlmThreadApproval(models.Model):
    _inherit = "llm.thread"

    generation_state = fields.Selection(
        selection_add=[("approval", "Waiting for approval")],
        ondelete={"approval": "set default"})
    approval_ids = fields.One2many("llm.tool.approval", "thread_id", "Tool Approvals",
                                   readonly=True)

    def _llm_prepare_run(self, user_message_body=None, **actions):
        # A new message (or a regenerate, an edit) instead of a decision: the calls waiting are
        # dropped (the history leaves out calls without a result) and can no longer be approved.
        if user_message_body or any(actions.values()):
            self._llm_check_owner()
            self.env["llm.tool.approval"].sudo().search(
                [("thread_id", "in", self.ids), ("state", "=", "pending")]).state = "expired"
        return super()._llm_prepare_run(user_message_body, **actions)

    def _llm_decide(self, call_id, approved):
        """Record the owner's decision on a waiting call; returns the approvals' summary."""
        self.ensure_one()
        self._llm_check_owner()
        approval = self.approval_ids.filtered(lambda a: a.call_id == call_id)[-1:]
        if not approval:
            raise UserError(self.env._("This conversation has no tool call %s.", call_id))
        if approval.state not in DECIDABLE:
            raise UserError(self.env._("This call was already decided (%s).",
                                       dict(approval._fields["state"].selection)[approval.state]))
        approval.sudo().write({"state": "approved" if approved else "denied",
                               "decided_by_id": self.env.uid,
                               "decided_at": fields.Datetime.now()})
        return self.approval_ids._llm_summary()

    def _llm_request_approvals(self, message_id, calls, tools):
        """The calls (of ``calls``) that must wait for a decision, with their previews: each
        call to a tool requiring approval that has no decision yet gets a pending approval.
        ``tools``: the enabled llm.tool records by name."""
        self.ensure_one()
        decided = {a.call_id: a for a in self.approval_ids if a.message_id.id == message_id}
        waiting = []
        for call in calls:
            tool = tools.get(call.name)
            if not tool or not tool.requires_approval or tool._llm_arguments_error(call.arguments):
                continue  # arguments against its schema: refused when run, nothing to approve
            approval = decided.get(call.id)
            if approval and approval.state != "pending":
                continue
            if not approval:
                approval = self.env["llm.tool.approval"].sudo().create({
                    "thread_id": self.id, "message_id": message_id, "call_id": call.id,
                    "tool_id": tool.id, "arguments": call.arguments,
                    "preview": tool._llm_preview(call.arguments)})
            waiting.append((call, approval.preview))
        return waiting

    def _llm_calls_to_resume(self):
        """(assistant message id, calls still without a result) of the last answer, when it
        is the end of the conversation and it asked for calls needing approval; else
        (None, []). Calls still undecided then simply wait again."""
        self.ensure_one()
        history = self._llm_history()
        answers = history.filtered(lambda m: m.llm_role == "assistant")
        last = answers[-1:]
        later = history.filtered(lambda m: m.id > last.id)
        if not last or later.filtered(lambda m: m.llm_role != "tool"):
            return None, []
        approvals = self.approval_ids.filtered(lambda a: a.message_id == last)
        if not approvals.filtered(lambda a: a.state != "expired" and not a.used):
            return None, []
        # A call whose approval was used ran already, its result kept or not.
        answered = {m.body_json.get("tool_call_id") for m in later if m.body_json} \
            | set(approvals.filtered("used").mapped("call_id"))
        return last.id, [ToolCall(c["id"], c["name"], c.get("arguments") or {})
                         for c in (last.body_json or {}).get("tool_calls") or ()
                         if c["id"] not in answered]

    def llm_ui_load(self):
        data = super().llm_ui_load()
        for message in data["messages"]:
            if message["role"] != "assistant":
                continue
            mine = self.approval_ids.filtered(
                lambda a, message_id=message["id"]: a.message_id.id == message_id)._llm_summary()
            if mine:
                message["data"] = dict(message["data"], approvals=mine)
        return data
