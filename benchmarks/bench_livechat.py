"""Figures of the live chat agent, printed (run through ``node benchmarks/bench_livechat.mjs``).

N visitors (``--visitors``, default 50) each open a live chat session on the support page's
routes as guests, listen on Odoo's websocket as the widget does, then all post a question at
the same moment. The agent answers each in its conversation through the fake provider
(tests/fake_provider.py, in a process of its own: a 600-character answer in 4-character deltas,
as fast as it can). Odoo runs threaded (``--workers=0``, Odoo's default pool of 64
connections), as `npm start` does: the runs are threads of that process.

- answered: conversations whose agent message holds the whole answer, in the database;
- time to first visible text: from the visitor's POST to the first websocket notification
  carrying the agent's text to that visitor (p50, p95);
- time to the whole answer: to the notification with the complete text (p50, p95);
- peak PostgreSQL connections of the database while the answers are written;
- first, ``--single`` conversations one after the other give the same times without
  contention; the machine's load average is printed beside the figures.
"""

import argparse
import json
import os
import sys
import threading
import time

import requests
import websocket

from bench_stream import (DELTA_CHARS, Odoo, Session, load_addon_module, percentile,
                          start_fake_and_database)

ANSWER = ("Our shop is open from nine to five on weekdays, and from ten to two on Saturdays. "
          * 8)[:600] + " END-OF-ANSWER"
# bus/websocket.py WebsocketConnectionHandler._VERSION of Odoo 18.0.
WEBSOCKET_VERSION = "18.0-4"
WAIT = 300


def serve_fake_provider():
    """Child process: serve the answer to every request until stdin closes."""
    base = load_addon_module("providers.base")
    fake_provider = load_addon_module("tests.fake_provider")
    fake = fake_provider.FakeProvider.start()
    steps = [base.TextDelta(ANSWER[i:i + DELTA_CHARS]) for i in range(0, len(ANSWER), DELTA_CHARS)]
    fake.script("openai", [*steps, base.Usage(100, len(steps)), base.Finish("stop")], times=None)
    print(fake.base_url("openai"), flush=True)
    sys.stdin.read()


class Visitor:
    """One guest with a live chat session and a websocket, as the widget has them."""

    def __init__(self, url, livechat_id, index):
        self.url = url
        self.http = requests.Session()
        result = self._rpc("/im_livechat/get_session", {
            "channel_id": livechat_id, "anonymous_name": f"Visitor {index}"})
        self.channel_id = result["discuss.channel"][0]["id"]
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.ws = websocket.create_connection(
            f"{url.replace('http', 'ws')}/websocket?version={WEBSOCKET_VERSION}",
            cookie=cookie, origin=url, timeout=WAIT)
        self.ws.send(json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}}))
        self.posted = self.first_text = self.whole = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _rpc(self, route, params):
        body = self.http.post(f"{self.url}{route}", json={"jsonrpc": "2.0", "params": params},
                              timeout=WAIT).json()
        if "error" in body:
            raise SystemExit(json.dumps(body["error"], indent=1))
        return body["result"]

    def ask(self, text):
        self.posted = time.perf_counter()
        self._rpc("/mail/message/post", {
            "thread_model": "discuss.channel", "thread_id": self.channel_id,
            "post_data": {"body": text, "message_type": "comment",
                          "subtype_xmlid": "mail.mt_comment"}})

    def _read(self):
        while self.whole is None:
            try:
                frame = self.ws.recv()
            except Exception:  # noqa: BLE001 - the connection closed: nothing more to time
                return
            now = time.perf_counter()
            # The agent's text, in a new message or an update of it, anywhere in the payload.
            if ANSWER[:12] in frame and self.posted and self.first_text is None:
                self.first_text = now
            if ANSWER[-14:] in frame and self.posted:
                self.whole = now

    def close(self):
        self.ws.close()


def main():
    if sys.argv[1:2] == ["fake"]:
        return serve_fake_provider()
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--single", type=int, default=10)
    options = parser.parse_args()
    config = json.loads(options.config)
    fake, fake_url, pg = start_fake_and_database(__file__, config)
    odoo = Odoo(config, workers=0, maxconn=64)
    try:
        admin = Session(odoo.http_port, config["db"])
        provider_id = admin.call("llm.provider", "create", {
            "name": "Fake", "api_format": "openai", "base_url": fake_url, "api_key": "sk-bench"})
        model_id = admin.call("llm.model", "create", {
            "name": "Fake model", "api_id": "fake-model", "provider_id": provider_id})
        [agent_group] = admin.call("ir.model.data", "check_object_reference", "llm_livechat",
                                   "group_livechat_agent")[1:]
        assistant_id = admin.call("llm.assistant", "create", {
            "name": "Bench", "model_id": model_id, "group_ids": [(6, 0, [agent_group])]})
        livechat_id = admin.call("im_livechat.channel", "create", {
            "name": "Bench", "llm_assistant_id": assistant_id, "user_ids": [(6, 0, [])],
            "llm_rate_limit": 100, "llm_handoff_unsourced": 0})
        url = f"http://127.0.0.1:{odoo.http_port}"
        alone = []
        for index in range(options.single + 1):  # the first one warms caches up, not counted
            visitor = Visitor(url, livechat_id, index)
            visitor.ask("When are you open?")
            visitor.reader.join(WAIT)
            visitor.close()
            alone.append(visitor)
        alone = alone[1:]
        if alone:
            first = [(v.first_text - v.posted) * 1000 for v in alone]
            whole = [(v.whole - v.posted) * 1000 for v in alone]
            print(f"{len(alone)} conversations one at a time: time to first visible text p50 "
                  f"{percentile(first, .5):.0f} ms, time to the whole answer p50 "
                  f"{percentile(whole, .5):.0f} ms; load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        visitors = [Visitor(url, livechat_id, options.single + 1 + i)
                    for i in range(options.visitors)]
        peak = {"connections": 0}
        sampling = threading.Event()
        sampling.set()

        def sample():
            with pg.cursor() as cr:
                while sampling.is_set():
                    cr.execute("SELECT count(*) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (config["db"],))
                    peak["connections"] = max(peak["connections"], cr.fetchone()[0])
                    time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        barrier = threading.Barrier(len(visitors))
        askers = [threading.Thread(target=lambda v=v: (barrier.wait(), v.ask("When are you open?")))
                  for v in visitors]
        started = time.perf_counter()
        for thread in askers:
            thread.start()
        for visitor in visitors:
            visitor.reader.join(WAIT)
        elapsed = time.perf_counter() - started
        sampling.clear()
        sampler.join()
        with pg.cursor() as cr:
            cr.execute("""SELECT count(DISTINCT res_id) FROM mail_message
                           WHERE model = 'discuss.channel' AND res_id = ANY(%s)
                             AND body LIKE %s""",
                       ([v.channel_id for v in visitors], f"%{ANSWER[-14:]}%"))
            stored = cr.fetchone()[0]
        first = [(v.first_text - v.posted) * 1000 for v in visitors if v.first_text]
        whole = [(v.whole - v.posted) * 1000 for v in visitors if v.whole]
        print(f"{len(visitors)} simultaneous visitor conversations: {stored} answered (whole "
              f"answer stored), {len(whole)} saw the whole answer over the bus, in "
              f"{elapsed:.1f} s; time to first visible text p50 {percentile(first, .5):.0f} ms, "
              f"p95 {percentile(first, .95):.0f} ms; time to the whole answer p50 "
              f"{percentile(whole, .5):.0f} ms, p95 {percentile(whole, .95):.0f} ms; peak "
              f"PostgreSQL connections {peak['connections']}; load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        for visitor in visitors:
            visitor.close()
    finally:
        odoo.stop()
        fake.stdin.close()
        fake.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
