"""Open an HTML file in headless Chromium with the network off, over the DevTools protocol (websocket-client):
console errors, failed or external requests, what every chart drew, and a full-page screenshot.

    .venv/bin/python tests/browser.py REPORT/index.html [--screenshot out.png]
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--window-size=1280,900",
    # network off in the browser itself, before the DevTools offline emulation even starts: no name resolves
    # and every fetch goes to a proxy that does not exist
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)

# what the page reports about its charts: every <svg class="chart"> with its size and its visible bars
CHARTS_JS = """
JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(s => {
  const r = s.getBoundingClientRect();
  const bars = Array.from(s.querySelectorAll('rect.bar'));
  const visible = bars.filter(b => { const q = b.getBoundingClientRect(); return q.width > 0 && q.height > 0; });
  return {name: s.dataset.chart, width: r.width, height: r.height, bars: bars.length, visible: visible.length};
}))
"""


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, executable: str) -> None:
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="corpus-chromium-")
        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._port()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _port(self) -> int:
        marker = Path(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for i, msg in enumerate(self.events):
            if msg["method"] == event:
                return self.events.pop(i)
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                if msg["method"] == event:
                    return msg
                self.events.append(msg)
        raise TimeoutError(event)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def check_page(
    html_path: str, screenshot: str | None = None, executable: str | None = None
) -> dict[str, Any]:
    """Load the page offline; return console errors, requests that left the file, chart info, page size."""
    executable = executable or find_chromium()
    if not executable:
        raise FileNotFoundError("no chromium on PATH")
    browser = Browser(executable)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable")
        browser.call(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=0,
            uploadThroughput=0,
        )
        browser.call("Page.navigate", url=Path(html_path).resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        time.sleep(0.3)  # let late console messages arrive
        charts = json.loads(
            browser.call("Runtime.evaluate", expression=CHARTS_JS, returnByValue=True)["result"]["value"]
        )
        size = browser.call(
            "Runtime.evaluate",
            expression="[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
            returnByValue=True,
        )["result"]["value"]
        if screenshot:
            width, height = max(800, size[0]), min(size[1], 16000)
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        browser.call("Runtime.evaluate", expression="1")  # flush pending events
        errors, requests = [], []
        for msg in browser.events:
            method, params = msg["method"], msg.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                )
            elif method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    requests.append(url)
            elif method == "Network.loadingFailed":
                errors.append(f"loading failed: {params.get('errorText')}")
        return {"errors": errors, "external_requests": requests, "charts": charts, "size": size}
    finally:
        browser.close()


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("html")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    result = check_page(args.html, args.screenshot)
    print(json.dumps({k: v for k, v in result.items() if k != "charts"}, indent=2))
    empty = [c for c in result["charts"] if not (c["width"] > 0 and c["height"] > 0 and c["visible"] > 0)]
    print(f"{len(result['charts'])} charts, {len(empty)} empty: {empty}")
    return 1 if result["errors"] or result["external_requests"] or empty else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
