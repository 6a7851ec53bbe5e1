#!/usr/bin/python3
"""Screenshot a page of a running Odoo as a logged-in user (README images, manual checks).

    /usr/bin/python3 scripts/screenshot.py URL OUT.png [--login admin --password admin]
        [--wait-for CSS_SELECTOR] [--size 1280x800]

Drives Debian's headless Chromium over the DevTools protocol (python3-websocket), with a
session cookie from /web/session/authenticate, so no login page is scripted.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

import requests
import websocket


def authenticate(base_url, db, login, password):
    session = requests.Session()
    response = session.post(f"{base_url}/web/session/authenticate", json={
        "jsonrpc": "2.0", "params": {"db": db, "login": login, "password": password},
    }, timeout=30)
    response.raise_for_status()
    if response.json().get("error"):
        raise SystemExit(f"login failed: {response.json()['error']['data']['message']}")
    return session.cookies["session_id"]


def devtools_port(profile):
    """The port Chromium chose (``--remote-debugging-port=0``), which it writes in its
    profile: a fixed one is taken over by another Chromium running at the same time."""
    for _ in range(100):
        try:
            with open(os.path.join(profile, "DevToolsActivePort")) as active:
                return int(active.readline())
        except (FileNotFoundError, ValueError):
            time.sleep(0.1)
    raise SystemExit("Chromium did not open its DevTools port")


class DevTools:
    def __init__(self, port):
        for _ in range(100):
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=1).json()
                page = next(t for t in targets if t["type"] == "page")
                break
            except (requests.ConnectionError, StopIteration):
                time.sleep(0.1)
        else:
            raise SystemExit("Chromium did not open its DevTools port")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise SystemExit(f"{method}: {message['error']}")
                return message.get("result", {})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--db", default="llm_thread")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--wait-for", default="body", help="CSS selector to wait for")
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    parts = urlsplit(args.url)
    base_url = f"{parts.scheme}://{parts.netloc}"
    session_id = authenticate(base_url, args.db, args.login, args.password)
    width, height = (int(v) for v in args.size.split("x"))
    profile = tempfile.mkdtemp(prefix="llm_thread_chromium_")
    chromium = subprocess.Popen([
        shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
        "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        tools = DevTools(devtools_port(profile))
        tools.call("Network.enable")
        tools.call("Network.setCookie", name="session_id", value=session_id, url=base_url)
        tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                   deviceScaleFactor=1, mobile=False)
        tools.call("Page.navigate", url=args.url)
        deadline = time.time() + args.timeout
        selector = json.dumps(args.wait_for)
        while time.time() < deadline:
            found = tools.call("Runtime.evaluate", expression=f"!!document.querySelector({selector})")
            if found.get("result", {}).get("value"):
                break
            time.sleep(0.2)
        else:
            raise SystemExit(f"{args.wait_for} never appeared on {args.url}")
        time.sleep(0.5)  # let fonts and transitions settle before the picture
        image = tools.call("Page.captureScreenshot", format="png")["data"]
        with open(args.out, "wb") as out:
            out.write(base64.b64decode(image))
        print(f"wrote {args.out}")
    finally:
        chromium.terminate()
        chromium.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
