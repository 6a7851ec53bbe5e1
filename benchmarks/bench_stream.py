"""Figures of the generation stream, printed (run through ``node benchmarks/bench_stream.mjs``).

The fake provider (tests/fake_provider.py, in a process of its own) answers every chat request
with the same 12,600-character answer in 4-character deltas, as fast as it can. Odoo runs in
prefork mode (``--workers=2``) with its gevent port, which serves the streams.

- bytes: response body bytes received by the client / answer characters;
- CPU: CPU seconds of the Odoo process serving one whole answer;
- DB writes: write statements (INSERT/UPDATE/DELETE, counted by statement triggers) per answer;
- added latency: POST to first text delta at the client, minus the fake provider's own time to
  its first delta (median of direct requests), p50 and p95 over ``--runs``, both timed with a
  plain socket client; with the fake answering at once (the engine's whole way to the first
  delta), then with a second fake thinking ``--think-ms`` before its first token, as real
  providers do (what a user waits for beyond the provider: the send's work that the
  provider's thinking does not hide);
- re-attach: a viewer leaves mid-answer and a new one attaches (a reload): GET /stream to the
  event holding the text so far, p50 and p95;
- concurrency: N simultaneous generations through the gevent port, first with no viewer
  (started, then left at once), then each with a viewer; every one must end with the whole
  answer stored (and streamed); peak PostgreSQL connections, peak RSS and RSS per generation
  while they run;
  then ``--threaded-streams`` simultaneous streams through the threaded server
  (``--workers=0``, Odoo's default pool of 64 connections), the same figures.
- modes: one answer each through the threaded server, a prefork worker and the gevent port.
"""

import argparse
import importlib
import json
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from urllib.parse import urlencode

import psutil
import psycopg2
import requests
from lxml import html as lxml_html

ADDON_DIR = Path(__file__).resolve().parent.parent
ANSWER_CHARS = 12_600
DELTA_CHARS = 4


def answer_text():
    """12,600 characters of markdown-like prose: lines, punctuation and quotes to escape."""
    line = 'The "stream" sends deltas; each one is <4 chars> & never re-sent.\n'
    return (line * (ANSWER_CHARS // len(line) + 1))[:ANSWER_CHARS]


def load_addon_module(name):
    """Import a pure-Python module of the addon (providers, tests.fake_provider) without
    Odoo: the addon's package ``__init__`` files that import Odoo are bypassed."""
    for package, path in (("llm_bench", ADDON_DIR), ("llm_bench.tests", ADDON_DIR / "tests")):
        if package not in sys.modules:
            module = types.ModuleType(package)
            module.__path__ = [str(path)]
            sys.modules[package] = module
    return importlib.import_module(f"llm_bench.{name}")


def serve_fake_provider(think_ms=0):
    """Child process: serve the answer to every request until stdin closes, after thinking
    ``think_ms`` milliseconds."""
    base = load_addon_module("providers.base")
    fake_provider = load_addon_module("tests.fake_provider")
    text = answer_text()
    fake = fake_provider.FakeProvider.start()
    steps = [base.TextDelta(text[i:i + DELTA_CHARS]) for i in range(0, len(text), DELTA_CHARS)]
    thinking = [fake_provider.Pause(think_ms / 1000)] if think_ms else []
    fake.script("openai", [*thinking, *steps, base.Usage(100, len(steps)),
                           base.Finish("stop")], times=None)
    print(fake.base_url("openai"), flush=True)
    sys.stdin.read()


def start_fake(script, think_ms=0):
    """The fake provider, served by ``script fake`` in a child process (stop it by closing its
    stdin), and its base URL."""
    fake = subprocess.Popen([sys.executable, script, "fake", str(think_ms)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return fake, fake.stdout.readline().strip()


def start_fake_and_database(script, config):
    """The fake provider (:func:`start_fake`), its base URL, and an autocommit connection to
    the benchmark database."""
    fake, fake_url = start_fake(script)
    pg = psycopg2.connect(dbname=config["db"], **config["pg"])
    pg.autocommit = True
    return fake, fake_url, pg


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Odoo exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


class Odoo:
    """One Odoo server for the benchmark database."""

    def __init__(self, config, workers, maxconn=2):
        self.http_port, self.gevent_port = free_port(), free_port()
        args = [*config["odoo"], f"--http-port={self.http_port}",
                f"--gevent-port={self.gevent_port}", f"--workers={workers}",
                # The gevent process's pool: with the liveness connection and the workers'
                # few, PostgreSQL sees at most 20 connections from this server.
                "--db_maxconn_gevent=15", f"--db_maxconn={maxconn}", "--limit-time-real=600"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        wait_for_port(self.http_port, self.process)
        if workers:
            wait_for_port(self.gevent_port, self.process)

    def gevent_process(self):
        for child in psutil.Process(self.process.pid).children(recursive=True):
            if "gevent" in child.cmdline():
                return child
        raise SystemExit("no gevent process")

    def stop(self):
        self.process.terminate()
        self.process.wait(60)


class Session:
    """A logged-in admin session: JSON-RPC calls and the CSRF token of the web client."""

    def __init__(self, port, db):
        self.url = f"http://127.0.0.1:{port}"
        self.http = requests.Session()
        self._rpc("/web/session/authenticate", {"db": db, "login": "admin", "password": "admin"})
        page = self.http.get(f"{self.url}/odoo").text
        self.csrf = re.search(r'csrf_token: "(\w+)"', page).group(1)

    def _rpc(self, route, params):
        response = self.http.post(f"{self.url}{route}", json={"jsonrpc": "2.0", "params": params})
        body = response.json()
        if "error" in body:
            raise SystemExit(json.dumps(body["error"], indent=1))
        return body["result"]

    def call(self, model, method, *args, **kwargs):
        return self._rpc("/web/dataset/call_kw", {"model": model, "method": method,
                                                  "args": list(args), "kwargs": kwargs})

    def clone(self):
        """A new connection pool with the same session (one per client thread)."""
        other = object.__new__(Session)
        other.url, other.csrf = self.url, self.csrf
        other.http = requests.Session()
        other.http.cookies.update(self.http.cookies)
        return other


def stream(session, port, thread_id):
    """POST a generation and read it to the end: (body bytes, events)."""
    chunks = []
    response = session.http.post(
        f"http://127.0.0.1:{port}/llm/thread/{thread_id}/generate",
        data={"csrf_token": session.csrf, "message": "Write the report."}, stream=True,
        timeout=600)
    response.raise_for_status()
    for chunk in response.iter_content(chunk_size=None):
        chunks.append(chunk)
    body = b"".join(chunks)
    events = []
    for frame in body.decode().split("\n\n"):
        if frame.startswith("id: "):
            frame = frame.partition("\n")[2]
        if frame.startswith("event: "):
            name, _sep, data = frame.partition("\ndata: ")
            events.append((name[len("event: "):], json.loads(data)))
    return len(body), events


def check_answer(events):
    """The streamed text is the whole answer and the stream ended well: the problem or None."""
    text = "".join(p["text"] for name, p in events if name == "text_delta")
    if not events or events[-1][0] != "done" or events[-1][1]["state"] != "idle":
        return f"stream ended with {events[-1:] or 'nothing'}"
    if text != answer_text():
        return f"streamed {len(text)} characters, not the answer"
    return None


def fake_model(session, url, name):
    """A provider named ``name`` for the fake at ``url``, and its model: ``{provider_id, id}``."""
    provider_id = session.call("llm.provider", "create", {
        "name": name, "api_format": "openai", "base_url": url, "api_key": "sk-bench"})
    return {"provider_id": provider_id, "id": session.call("llm.model", "create", {
        "name": f"{name} model", "api_id": "fake-model", "provider_id": provider_id})}


def new_thread(session, model):
    """A conversation as the chat creates one: the default assistant (instructions, tools,
    starter prompts) and the default tools, on the fake model."""
    return session.call("llm.thread", "llm_ui_create", values={
        "provider_id": model["provider_id"], "model_id": model["id"]})["id"]


class WriteCounter:
    """Counts write statements in the database with statement-level triggers."""

    def __init__(self, pg):
        self.pg = pg

    def __enter__(self):
        with self.pg.cursor() as cr:
            cr.execute("""
                CREATE UNLOGGED TABLE bench_write_log (tbl text, op text);
                CREATE FUNCTION bench_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO bench_write_log VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$;
                DO $$ DECLARE t text; BEGIN
                  FOR t IN SELECT tablename FROM pg_tables
                            WHERE schemaname = 'public' AND tablename <> 'bench_write_log' LOOP
                    EXECUTE format('CREATE TRIGGER bench_log_write AFTER INSERT OR UPDATE OR DELETE
                                    ON %I FOR EACH STATEMENT EXECUTE FUNCTION bench_log_write()', t);
                  END LOOP; END $$;
            """)
        return self

    def counts(self):
        with self.pg.cursor() as cr:
            cr.execute("SELECT tbl, op, count(*) FROM bench_write_log GROUP BY 1, 2 ORDER BY 3 DESC")
            return cr.fetchall()

    def __exit__(self, *exc_info):
        with self.pg.cursor() as cr:
            cr.execute("""
                DO $$ DECLARE t text; BEGIN
                  FOR t IN SELECT tablename FROM pg_tables
                            WHERE schemaname = 'public' AND tablename <> 'bench_write_log' LOOP
                    EXECUTE format('DROP TRIGGER bench_log_write ON %I', t);
                  END LOOP; END $$;
                DROP FUNCTION bench_log_write();
                DROP TABLE bench_write_log;
            """)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def time_to_marker(port, path, body, marker, headers="", method="POST", required=True):
    """Seconds from sending a request on a new connection to the first bytes holding
    ``marker``, read with a plain socket (no client library between the wire and the clock);
    the body is read to its end so that no stream overlaps the next measurement. None when
    the marker never came and it is not ``required``."""
    request = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        sock.sendall(request)
        received, found = b"", None
        while chunk := sock.recv(65536):
            received += chunk
            if found is None and marker in received:
                found = time.perf_counter() - started
    if found is None and required:
        raise SystemExit(f"no {marker!r} in the answer of {path}: {received[-300:]!r}")
    return found


def fake_time_to_first_delta(fake_url, runs):
    port = int(fake_url.rsplit(":", 1)[1].split("/")[0])
    body = json.dumps({"model": "fake-model", "stream": True,
                       "messages": [{"role": "user", "content": "x"}]}).encode()
    return statistics.median(
        # The first text, not the opening chunk (its role, and an empty content).
        time_to_marker(port, "/v1/chat/completions", body,
                       b'"content": "' + answer_text()[:DELTA_CHARS].encode(),
                       "Content-Type: application/json\r\n")
        for _run in range(runs))


def bench_single(session, odoo, pg, model):
    gevent = odoo.gevent_process()
    thread_id = new_thread(session, model)
    cpu_before = sum(gevent.cpu_times()[:2])
    with WriteCounter(pg) as writes:
        size, events = stream(session, odoo.gevent_port, thread_id)
        counts = writes.counts()
    cpu = sum(gevent.cpu_times()[:2]) - cpu_before
    problem = check_answer(events)
    print(f"answer: {ANSWER_CHARS} characters in {ANSWER_CHARS // DELTA_CHARS} deltas"
          f"{' PROBLEM: ' + problem if problem else ''}")
    print(f"bytes sent / answer characters: {size / ANSWER_CHARS:.2f} "
          f"({size} body bytes, {len(events)} events)")
    print(f"server CPU for the whole answer: {cpu:.3f} s")
    total = sum(count for _t, _o, count in counts)
    detail = ", ".join(f"{op.lower()} {table} x{count}" for table, op, count in counts)
    print(f"database write statements per answer: {total} ({detail})")


def bench_latency(session, odoo, model, fake_url, runs, label=""):
    baseline = fake_time_to_first_delta(fake_url, runs)
    cookie = "; ".join(f"{name}={value}" for name, value in session.http.cookies.items())
    headers = f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    body = urlencode({"csrf_token": session.csrf, "message": "Write the report."}).encode()
    thread_ids = [new_thread(session, model) for _run in range(runs)]
    added = [(time_to_marker(odoo.gevent_port, f"/llm/thread/{thread_id}/generate", body,
                             b"event: text_delta", headers) - baseline) * 1000
             for thread_id in thread_ids]
    print(f"added latency to first delta{label} over {runs} runs: "
          f"p50 {percentile(added, 0.5):.1f} ms, p95 {percentile(added, 0.95):.1f} ms "
          f"(fake provider's own: {baseline * 1000:.1f} ms)")


def bench_reattach(session, odoo, model, runs):
    """A reload mid-answer: the generation goes on with no viewer, and a new viewer attaches
    (GET /stream); the time to the event holding the text so far, p50 and p95."""
    cookie = "; ".join(f"{name}={value}" for name, value in session.http.cookies.items())
    times = []
    for _run in range(runs):
        thread_id = new_thread(session, model)
        response = session.http.post(
            f"http://127.0.0.1:{odoo.gevent_port}/llm/thread/{thread_id}/generate",
            data={"csrf_token": session.csrf, "message": "Write the report."}, stream=True,
            timeout=600)
        for line in response.iter_lines():
            if line.startswith(b"event: text_delta"):
                break
        response.close()  # the tab reloads
        seconds = time_to_marker(odoo.gevent_port, f"/llm/thread/{thread_id}/stream", b"",
                                 b"event: text_delta", f"Cookie: {cookie}\r\n", method="GET",
                                 required=False)
        if seconds is not None:  # None: the answer ended before the viewer came back
            times.append(seconds * 1000)
    print(f"re-attach (a reload mid-answer) to the text so far over {len(times)} runs: "
          f"p50 {percentile(times, 0.5):.1f} ms, p95 {percentile(times, 0.95):.1f} ms")


def start_detached(session, port, thread_id):
    """POST a generation and leave at its first event, as a tab closed right after the send."""
    response = session.http.post(
        f"http://127.0.0.1:{port}/llm/thread/{thread_id}/generate",
        data={"csrf_token": session.csrf, "message": "Write the report."}, stream=True,
        timeout=600)
    response.raise_for_status()
    next(response.iter_lines())
    response.close()


def wait_until_ended(pg, thread_ids, timeout=600):
    deadline = time.monotonic() + timeout
    with pg.cursor() as cr:
        while time.monotonic() < deadline:
            cr.execute("""SELECT count(*) FROM llm_thread WHERE id = ANY(%s)
                           AND generation_state IN ('generating', 'waiting')""", (thread_ids,))
            if not cr.fetchone()[0]:
                return
            time.sleep(0.05)


def bench_concurrency(session, server, port, pg, model, db, counts, fake, label, viewers=True):
    """``counts`` simultaneous streams on ``port``, served by the process ``server``; without
    ``viewers``, generations started and left at once (written with nobody watching)."""
    for count in counts:
        thread_ids = [new_thread(session, model) for _i in range(count)]
        results = [None] * count
        barrier = threading.Barrier(count + 1)
        peaks = {"connections": 0, "rss": 0}
        running = threading.Event()
        running.set()

        def client(index):
            own = session.clone()
            barrier.wait()
            try:
                if viewers:
                    results[index] = check_answer(stream(own, port, thread_ids[index])[1])
                else:
                    start_detached(own, port, thread_ids[index])
            except Exception as exc:  # noqa: BLE001 - reported as a lost stream
                results[index] = repr(exc)

        def sample():
            with pg.cursor() as cr:
                while running.is_set():
                    cr.execute("SELECT count(*) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (db,))
                    peaks["connections"] = max(peaks["connections"], cr.fetchone()[0])
                    peaks["rss"] = max(peaks["rss"], server.memory_info().rss)
                    time.sleep(0.02)

        clients = [threading.Thread(target=client, args=(i,)) for i in range(count)]
        for thread in clients:
            thread.start()
        sampler = threading.Thread(target=sample)
        sampler.start()
        cpu = {"odoo": sum(server.cpu_times()[:2]), "fake": sum(fake.cpu_times()[:2]),
               "clients": sum(psutil.Process().cpu_times()[:2])}
        rss_before = server.memory_info().rss
        started = time.perf_counter()
        barrier.wait()
        for thread in clients:
            thread.join()
        if not viewers:
            wait_until_ended(pg, thread_ids)
        elapsed = time.perf_counter() - started
        cpu = {"odoo": sum(server.cpu_times()[:2]) - cpu["odoo"],
               "fake": sum(fake.cpu_times()[:2]) - cpu["fake"],
               "clients": sum(psutil.Process().cpu_times()[:2]) - cpu["clients"]}
        running.clear()
        sampler.join()
        stored = stored_answers(pg, thread_ids)
        problems = [r for r in results if r]
        kind = "streams" if viewers else "generations with no viewer"
        print(f"{count} simultaneous {kind} ({label}): {count - len(problems)} complete, "
              f"{len(problems)} failed, "
              f"{stored} answers stored whole, in {elapsed:.1f} s; peak PostgreSQL connections "
              f"{peaks['connections']}, peak RSS {peaks['rss'] / 2**20:.0f} MiB "
              f"({(peaks['rss'] - rss_before) / count / 2**10:.0f} KiB per generation); "
              "CPU seconds: "
              + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
              + (f"; problems: {sorted(set(problems))[:3]}" if problems else ""), flush=True)
        if problems:
            break


def stored_answers(pg, thread_ids):
    with pg.cursor() as cr:
        cr.execute("""SELECT body FROM mail_message WHERE model = 'llm.thread'
                       AND res_id = ANY(%s) AND llm_role = 'assistant'""", (thread_ids,))
        expected = answer_text()
        return sum(lxml_html.fromstring(body).text_content() == expected for (body,) in cr.fetchall())


def check_modes(config, model_values):
    """One answer through each way of serving Odoo."""
    for label, workers, port_of in (("threaded server", 0, "http_port"),
                                    ("prefork worker", 2, "http_port"),
                                    ("gevent port", 2, "gevent_port")):
        odoo = Odoo(config, workers)
        try:
            session = Session(odoo.http_port, config["db"])
            thread_id = new_thread(session, model_values)
            problem = check_answer(stream(session, getattr(odoo, port_of), thread_id)[1])
            print(f"mode {label}: {'ok' if not problem else problem}")
        finally:
            odoo.stop()


def main():
    if sys.argv[1:2] == ["fake"]:
        return serve_fake_provider(int(sys.argv[2]))
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--think-ms", type=int, default=300)
    parser.add_argument("--streams", default="50,100,200")
    parser.add_argument("--threaded-streams", default="100")
    parser.add_argument("--skip-modes", action="store_true")
    options = parser.parse_args()
    config = json.loads(options.config)
    fake, fake_url, pg = start_fake_and_database(__file__, config)
    thinking, thinking_url = start_fake(__file__, options.think_ms)
    odoo = Odoo(config, workers=2)
    try:
        session = Session(odoo.http_port, config["db"])
        model_values = fake_model(session, fake_url, "Fake")
        stream(session, odoo.gevent_port, new_thread(session, model_values))  # warm-up
        bench_single(session, odoo, pg, model_values)
        bench_latency(session, odoo, model_values, fake_url, options.runs)
        if options.think_ms:
            bench_latency(session, odoo, fake_model(session, thinking_url, "Fake, thinking"),
                          thinking_url, options.runs, f", provider thinking {options.think_ms} ms")
        bench_reattach(session, odoo, model_values, options.runs)
        for viewers in (False, True):
            bench_concurrency(session, odoo.gevent_process(), odoo.gevent_port, pg,
                              model_values, config["db"],
                              [int(n) for n in options.streams.split(",")],
                              psutil.Process(fake.pid), "gevent port", viewers)
    finally:
        odoo.stop()
    if options.threaded_streams:
        # Odoo's default pool (db_maxconn 64), as `npm start` or a small deployment runs it.
        odoo = Odoo(config, workers=0, maxconn=64)
        try:
            session = Session(odoo.http_port, config["db"])
            stream(session, odoo.http_port, new_thread(session, model_values))  # warm-up
            bench_concurrency(session, psutil.Process(odoo.process.pid), odoo.http_port, pg,
                              model_values, config["db"],
                              [int(n) for n in options.threaded_streams.split(",")],
                              psutil.Process(fake.pid), "threaded server")
        finally:
            odoo.stop()
    if not options.skip_modes:
        check_modes(config, model_values)
    for process in (fake, thinking):
        process.stdin.close()
        process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
