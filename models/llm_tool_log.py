"""The audit log of tool executions: one line per call that reached a configured tool,
whatever its outcome (result, error, refused for want of rights or approval).

Written by the generation in a transaction of its own (a failed call rolls its own
transaction back, its log line must survive), with ``sudo()``: nobody, managers included, can
create, change or delete a line through the ORM; managers read them.
"""

import json

from odoo import fields, models

LOG_MAX_CHARS = 20_000


class LlmToolLog(models.Model):
    _name = "llm.tool.log"
    _description = "LLM Tool Execution"
    _order = "id desc"
    _rec_name = "tool_name"

    create_date = fields.Datetime("Date", readonly=True)
    user_id = fields.Many2one("res.users", "User", required=True, readonly=True, index=True,
                              ondelete="cascade")
    thread_id = fields.Many2one("llm.thread", "Conversation", readonly=True, index=True,
                                ondelete="set null")
    tool_id = fields.Many2one("llm.tool", "Tool", readonly=True, ondelete="set null")
    tool_name = fields.Char("Tool Name", required=True, readonly=True)
    call_id = fields.Char("Call", readonly=True)
    arguments = fields.Text(readonly=True)
    result = fields.Text(readonly=True)
    error = fields.Text(readonly=True)
    state = fields.Selection([("done", "Done"), ("error", "Error")], required=True,
                             readonly=True)
    approved_by_id = fields.Many2one("res.users", "Approved By", readonly=True,
                                     ondelete="set null")
    duration_ms = fields.Integer("Duration (ms)", readonly=True)

    def _llm_record(self, thread, tool, call, result, error, duration):
        """One line for ``call`` (a providers.base.ToolCall) run by the current user."""
        approval = thread.approval_ids.filtered(lambda a: a.call_id == call.id)[-1:] \
            .filtered(lambda a: a.state == "approved")
        return self.sudo().create({
            "user_id": self.env.uid,
            "thread_id": thread.id,
            "tool_id": tool.id,
            "tool_name": call.name,
            "call_id": call.id,
            "arguments": json.dumps(call.arguments, ensure_ascii=False, default=str),
            "result": (result or "")[:LOG_MAX_CHARS] or False,
            "error": error or False,
            "state": "error" if error is not None else "done",
            "approved_by_id": approval.decided_by_id.id,
            "duration_ms": round(duration * 1000),
        })
