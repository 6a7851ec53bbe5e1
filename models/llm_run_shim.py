"""TEMPORARY stand-in for the server-side run API the lead is building (issue 13); the lead
replaces this file with the real one when merging. Copy it verbatim (same content in every
branch, so merges agree); do not edit it. Differences from the real API: it COMMITS the
current transaction (the real one starts the run when the caller's transaction commits), and
the run lives in a plain thread of the calling process."""

import threading

from odoo import api, models


class LlmRunShim:
    def __init__(self, thread, generation):
        self.registry = thread.env.registry
        self.uid = thread.env.uid
        self.context = dict(thread.env.context)
        self.thread_id = thread.id
        self._worker = threading.Thread(target=self._run, args=(generation,), daemon=True,
                                        name=f"llm-run-shim-{thread.id}")
        self._worker.start()

    def _run(self, generation):
        last_progress = 0.0
        try:
            for name, payload in generation:
                if name == "message_final":
                    self._call("_llm_answer_progress", payload["message_id"], True)
                elif name in ("message_created", "text_delta") \
                        and payload.get("role", "assistant") == "assistant":
                    import time
                    if time.monotonic() - last_progress >= 0.5:
                        last_progress = time.monotonic()
                        self._call("_llm_answer_progress", payload["message_id"], False)
        finally:
            generation.close()
            self._call("_llm_run_finished")

    def _call(self, method, *args):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.uid, self.context)
            thread = env["llm.thread"].browse(self.thread_id)
            if method == "_llm_answer_progress":
                getattr(thread, method)(env["mail.message"].browse(args[0]), args[1])
            else:
                getattr(thread, method)()

    def wait(self, timeout=None):
        self._worker.join(timeout)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.uid, self.context)
            return env["llm.thread"].browse(self.thread_id).generation_state


class LlmThreadRunShim(models.Model):
    _inherit = "llm.thread"

    def _llm_start(self, user_message_body=None, **actions):
        self.ensure_one()
        return LlmRunShim(self, self._llm_generate(user_message_body, **actions))

    def _llm_run_finished(self):
        """Hook: the run ended and released the thread (see the brief)."""

    def _llm_answer_progress(self, message, final):
        """Hook: the answer ``message`` was saved (created, flushed, or final)."""
