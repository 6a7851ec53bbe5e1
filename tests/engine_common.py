"""Shared fixtures of the engine tests: a scripted in-process provider and an SSE client.

The scripted provider implements ``providers.base.Provider`` exactly as the wire modules do
(events out, ``ProviderError`` for faults, cancellation through the ``CancelToken``), so the
engine under test is the real one; only the network is left out. Gates make every
interleaving explicit: a test waits for "the provider reached this point" and decides when it
goes on, so no test sleeps or measures time.
"""

import importlib.util
import json
import os
import threading

from odoo import http
from odoo.modules.module import get_module_path
from odoo.tests import HttpCase, new_test_user

from ..engine import runtime
from ..providers import base
from .fake_provider import FakeProviderCase

# Bounds on waits for events that happen within milliseconds; they only stop a broken test
# from hanging, they never decide its outcome.
WAIT = 30


def run_migration(cr, version, from_version, module="llm_thread"):
    """Run ``module``'s post-migrate script of ``version`` as Odoo runs it when updating from
    ``from_version``."""
    path = os.path.join(get_module_path(module), "migrations", version, "post-migrate.py")
    spec = importlib.util.spec_from_file_location(f"{module}_post_migrate_{version}", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.migrate(cr, from_version)


class Gate:
    """A point in a provider script where the stream pauses until the test opens it (or
    the generation is cancelled)."""

    def __init__(self):
        self.reached = threading.Event()
        self.opened = threading.Event()

    def open(self):
        self.opened.set()


class ScriptedProvider(base.Provider):
    """Plays one script per ``chat()`` call. A script is a list of provider events,
    ``Gate``s and exceptions (raised at that point)."""

    def __init__(self, *scripts):
        super().__init__(base.ProviderConfig(name="Scripted", api_format="openai",
                                             base_url="http://scripted.invalid"))
        self.scripts = list(scripts)
        self.requests = []

    def chat(self, model, messages, tools=(), options=base.ChatOptions(), cancel=None):
        self.requests.append({"model": model, "messages": list(messages), "tools": list(tools),
                              "options": options})
        script = self.scripts.pop(0)
        return self._play(script, cancel)

    def _play(self, script, cancel):
        for step in script:
            if isinstance(step, Gate):
                cancel.on_cancel(step.opened.set)
                step.reached.set()
                step.opened.wait(WAIT)
            elif isinstance(step, Exception):
                raise step
            else:
                yield step
            if cancel.cancelled:
                raise base.ProviderError("Scripted", "cancelled", "Cancelled.")


def answer(*chunks, usage=(12, 34)):
    """A plain streamed answer: text deltas, usage, finish."""
    return [*map(base.TextDelta, chunks), base.Usage(*usage), base.Finish("stop")]


def iter_sse(lines):
    """(name, payload) pairs from the lines of an SSE body, each as soon as its line is read."""
    name = None
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode()
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: "):])


def parse_sse(lines):
    """(name, payload) pairs from the lines of an SSE body."""
    return list(iter_sse(lines))


class EngineCase(HttpCase):
    """Users A and B, a thread of A's, and the engine wired to ``self.provider``."""

    window = 100_000
    # False: the thread talks to its real provider record (tests of the wire path).
    scripted = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_a = new_test_user(cls.env, login="llm_a", password="llm_a_password_1",
                                   groups="base.group_user")
        cls.user_b = new_test_user(cls.env, login="llm_b", password="llm_b_password_1",
                                   groups="base.group_user")
        # Configured like a real thread; the scripted provider replaces only the network.
        provider = cls.env["llm.provider"].create({
            "name": "Scripted", "api_format": "openai", "base_url": "http://scripted.invalid/v1"})
        cls.model = cls.env["llm.model"].create({
            "name": "Scripted", "api_id": "scripted-model", "provider_id": provider.id,
            "supports_tools": True})
        cls.provider_record = provider
        cls.thread = cls.env["llm.thread"].with_user(cls.user_a).create({
            "name": "A's chat", "provider_id": provider.id, "model_id": cls.model.id})

    def setUp(self):
        super().setUp()
        # A run outlives its viewers: a test that stopped reading must not end (and roll back
        # the cursor every run shares in test mode) while one still writes.
        self.addCleanup(self.wait_for_runs)
        if self.scripted:
            self.provider = ScriptedProvider()
            # The one seam replaced: which provider and model the thread talks to.
            self.patch(type(self.env["llm.thread"]), "_llm_resolve_model",
                       lambda thread, model, provider: (self.provider, "scripted-model",
                                                        self.window, 256))

    def wait_for_runs(self):
        with runtime.runs_lock:
            runs = [run for run in runtime.unfinished if run.dbname == self.env.cr.dbname]
        for run in runs:
            self.assertTrue(run.finished.wait(WAIT), f"the run of thread {run.thread_id} ended")

    def script(self, *scripts):
        self.provider.scripts.extend(scripts)

    def post_generate(self, thread, message, login="llm_a", csrf=True, stream=False,
                      attachment_ids=(), companies=None, **fields):
        """POST the generate route; ``fields``: more form fields (``edit_message_id``...);
        ``companies``: those chosen in the web client's switcher, the current one first."""
        self.env.flush_all()  # the server reads through its own cursor
        self.authenticate(login, f"{login}_password_1")
        if companies is not None:
            self.opener.cookies.set("cids", "-".join(str(company.id) for company in companies))
        data = {"message": message, **fields}
        if attachment_ids:
            data["attachment_ids"] = ",".join(map(str, attachment_ids))
        if csrf:
            data["csrf_token"] = http.Request.csrf_token(self)
        return self.opener.post(f"{self.base_url()}/llm/thread/{thread.id}/generate",
                                data=data, stream=stream, timeout=WAIT)

    def generate(self, thread, message, **kwargs):
        """POST and read the whole stream: (response, events)."""
        response = self.post_generate(thread, message, **kwargs)
        events = parse_sse(response.text.splitlines()) if response.ok else []
        self.env.invalidate_all()
        return response, events

    def running(self, thread):
        """The run of ``thread`` in this process (engine.run.Run)."""
        return runtime.current_run(self.env.cr.dbname, thread.id)

    def messages(self, thread, role=None):
        domain = [("model", "=", "llm.thread"), ("res_id", "=", thread.id),
                  ("llm_role", "!=", False)]
        if role:
            domain.append(("llm_role", "=", role))
        return self.env["mail.message"].search(domain, order="id")

    def text(self, events, message_id=None):
        return "".join(p["text"] for name, p in events if name == "text_delta"
                       and (message_id is None or p["message_id"] == message_id))

    def names(self, events):
        return [name for name, _payload in events]


class WireCase(FakeProviderCase, EngineCase):
    """The whole path: the thread's provider record talks to the fake provider server (OpenAI
    format until a test changes it) through the real wire modules."""

    scripted = False
    fake_api_key = "sk-test"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider_record.write({"base_url": cls.fake.base_url("openai"), "api_key": "sk-test"})
        cls.model.api_id = "fake-model"

    def use_format(self, fmt):
        """Talk to the fake server in ``fmt`` for the rest of the test."""
        self.provider_record.write({"api_format": fmt, "base_url": self.fake.base_url(fmt)})
        self.addCleanup(self.provider_record.write, {"api_format": "openai",
                                                     "base_url": self.fake.base_url("openai")})
