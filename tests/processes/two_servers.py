"""Two Odoo servers on one database (as behind a load balancer), against the fake provider:
a viewer on one follows a generation running on the other, Stop sent to either reaches it,
and a server killed with ``kill -9`` mid-answer leaves nothing stuck.

Run by ``node scripts/test-processes.mjs`` (part of ``npm test``), which makes the database
and passes its configuration as the first argument. Real processes and a real database:
these cannot run inside Odoo's test runner, whose data is never committed.
"""

import json
import sys
import threading
import time
import unittest
from pathlib import Path

import psycopg2

ADDON_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ADDON_DIR / "benchmarks"))
import bench_stream as servers  # noqa: E402 - the benchmark's server and session helpers

base = servers.load_addon_module("providers.base")
fake_provider = servers.load_addon_module("tests.fake_provider")

CONFIG = None  # set by main()
# Bounds on waits for what takes milliseconds to seconds; they only stop a broken test from
# hanging. A dead server is found within the hub's CHECK_INTERVAL (engine/hub.py).
WAIT = 60


def events_of(response):
    """(id, name, payload) triples of an SSE response, as they arrive."""
    event_id = name = None
    for line in response.iter_lines():
        line = line.decode()
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield event_id, name, json.loads(line[6:])
            event_id = None


def read_until(events, wanted):
    """The events up to the first named ``wanted`` (included)."""
    seen = []
    for item in events:
        seen.append(item)
        if item[1] == wanted:
            return seen
    raise AssertionError(f"the stream ended before {wanted}: {seen}")


def text(events):
    return "".join(payload["text"] for _id, name, payload in events if name == "text_delta")


class TwoServers(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.fake = fake_provider.FakeProvider.start()
        cls.a = servers.Odoo(CONFIG, workers=0, maxconn=16)
        cls.b = servers.Odoo(CONFIG, workers=0, maxconn=16)
        cls.session_a = servers.Session(cls.a.http_port, CONFIG["db"])
        cls.session_b = servers.Session(cls.b.http_port, CONFIG["db"])
        provider = cls.session_a.call("llm.provider", "create", {
            "name": "Fake", "api_format": "openai", "base_url": cls.fake.base_url("openai"),
            "api_key": "sk-test"})
        cls.model = cls.session_a.call("llm.model", "create", {
            "name": "Fake model", "api_id": "fake-model", "provider_id": provider})
        cls.provider = provider

    @classmethod
    def tearDownClass(cls):
        for server in (cls.a, cls.b):
            if server.process.poll() is None:
                server.stop()
        cls.fake.stop()

    def setUp(self):
        self.releases = []

    def tearDown(self):
        for event in self.releases:
            event.set()

    def held(self, *before, after=()):
        """A scripted answer: ``before``, then a hold the test releases, then ``after``."""
        release = threading.Event()
        self.releases.append(release)
        self.fake.script("openai", [*map(base.TextDelta, before), fake_provider.Wait(release),
                                    *map(base.TextDelta, after), base.Usage(10, 5),
                                    base.Finish("stop")])
        return release

    def new_thread(self):
        return self.session_a.call("llm.thread", "create", {
            "name": "Across servers", "provider_id": self.provider, "model_id": self.model})

    def generate(self, server, session, thread_id, message):
        response = session.http.post(
            f"http://127.0.0.1:{server.http_port}/llm/thread/{thread_id}/generate",
            data={"csrf_token": session.csrf, "message": message}, stream=True, timeout=WAIT)
        response.raise_for_status()
        return events_of(response)

    def follow(self, server, session, thread_id, last_event_id=None):
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        response = session.http.get(
            f"http://127.0.0.1:{server.http_port}/llm/thread/{thread_id}/stream",
            headers=headers, stream=True, timeout=WAIT)
        response.raise_for_status()
        return events_of(response)

    def thread_state(self, session, thread_id):
        return session.call("llm.thread", "read", [thread_id], ["generation_state"])[0][
            "generation_state"]

    def test_viewer_on_another_server_follows_live(self):
        release = self.held("Started on A, ", after=["followed from B."])
        thread_id = self.new_thread()
        on_a = self.generate(self.a, self.session_a, thread_id, "Hello")
        seen_a = read_until(on_a, "text_delta")
        on_b = self.follow(self.b, self.session_b, thread_id)
        replay = read_until(on_b, "text_delta")
        self.assertEqual([name for _id, name, _p in replay],
                         ["message_created", "message_created", "text_delta"])
        self.assertEqual(text(replay), "Started on A, ")
        self.assertEqual(replay[-1][0], seen_a[-1][0], "the same event ids on both servers")
        release.set()
        rest_a, rest_b = list(on_a), list(on_b)
        self.assertEqual(text(seen_a + rest_a), "Started on A, followed from B.")
        self.assertEqual(text(replay + rest_b), "Started on A, followed from B.")
        self.assertEqual(rest_b[-1][1:], ("done", {"thread_id": thread_id, "state": "idle"}))
        # A reconnect to B with the last id it saw gets nothing twice.
        tail = list(self.follow(self.b, self.session_b, thread_id, rest_b[-2][0]))
        self.assertEqual([name for _id, name, _p in tail], ["done"])

    def test_stop_sent_to_another_server(self):
        self.held("Stop me ", after=["never sent"])
        thread_id = self.new_thread()
        on_a = self.generate(self.a, self.session_a, thread_id, "Write a lot")
        read_until(on_a, "text_delta")
        started = time.monotonic()
        stopping = self.session_b._rpc(f"/llm/thread/{thread_id}/stop", {})
        self.assertEqual(stopping, {"stopping": True})
        final = dict((name, payload) for _id, name, payload in on_a)
        print(f"stop through the other server: {time.monotonic() - started:.3f} s",
              file=sys.stderr)
        self.assertTrue(final["message_final"]["stopped"])
        self.assertTrue(self.fake.requests[-1].disconnected.wait(WAIT),
                        "the upstream request is cancelled")
        self.assertEqual(self.thread_state(self.session_b, thread_id), "idle")

    def test_server_killed_mid_answer(self):
        """kill -9 of the server writing an answer: the viewer on the other server is told,
        the thread is released, the question and the partial answer are kept, marked
        interrupted, and a new question works at once."""
        victim = servers.Odoo(CONFIG, workers=0, maxconn=16)
        session = servers.Session(victim.http_port, CONFIG["db"])
        self.held("Half written")
        thread_id = self.new_thread()
        on_victim = self.generate(victim, session, thread_id, "Then the server dies")
        read_until(on_victim, "text_delta")
        on_b = self.follow(self.b, self.session_b, thread_id)
        read_until(on_b, "text_delta")
        started = time.monotonic()
        victim.process.kill()
        victim.process.wait(WAIT)
        end = list(on_b)
        print(f"viewer told of the dead server in {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        self.assertEqual(end[-1][1], "done")
        self.assertEqual(self.thread_state(self.session_b, thread_id), "error")
        messages = self.session_b.call("llm.thread", "llm_ui_load", [thread_id])["messages"]
        self.assertEqual([m["role"] for m in messages], ["user", "assistant"])
        self.assertEqual(messages[0]["text"], "Then the server dies")
        self.assertEqual(messages[1]["text"], "Half written")
        self.assertTrue(messages[1]["data"]["interrupted"])
        self.fake.script("openai", [base.TextDelta("Back."), base.Usage(1, 1),
                                    base.Finish("stop")])
        after = list(self.generate(self.b, self.session_b, thread_id, "Are you back?"))
        self.assertEqual(text(after), "Back.")


def main():
    global CONFIG  # noqa: PLW0603 - the database the runner made
    CONFIG = json.loads(sys.argv[1])
    with psycopg2.connect(dbname=CONFIG["db"], **CONFIG["pg"]):
        pass  # fail early, clearly, when the database is not there
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    summary = {"passed": result.testsRun - len(result.failures) - len(result.errors),
               "failed": len(result.failures) + len(result.errors)}
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(summary))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
