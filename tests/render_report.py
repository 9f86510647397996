"""Render a ``snakemake --report`` HTML file in headless Chromium, with no network.

``check(report)`` injects two scripts into a copy of the report: a probe at the top of
``<head>`` that records console errors, uncaught errors and warnings, and a driver that
walks the report's own app through every dataset's plots and the summary, counting the
images that really decoded. It returns the driver's findings (from the dumped DOM).

    python tests/render_report.py REPORT.html --screenshot OUT.png [--dataset NAME]

writes a screenshot of one dataset's score plot (used for the README).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

JS = Path(__file__).with_name("report_js")
# every request goes to a dead proxy: a report that needed the network would show errors
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9", "--hide-scrollbars"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _instrument(report: Path, out: Path, driver: str) -> None:
    html = report.read_text(encoding="utf-8")
    probe = (JS / "probe.js").read_text()
    head = html.index("<head>") + len("<head>")
    html = html[:head] + f"<script>{probe}</script>" + html[head:]
    end = html.rindex("</body>")  # the last one: library sources contain the string too
    html = html[:end] + f"<script>{driver}</script>" + html[end:]
    out.write_text(html, encoding="utf-8")


def check(report: Path, timeout: int = 180) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        _instrument(Path(report), page, (JS / "check.js").read_text())
        proc = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp}/profile",
                "--virtual-time-budget=120000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    found = re.findall(r'<pre id="hardneg-check">(.*?)</pre>', proc.stdout, re.S)
    if not found:
        raise AssertionError(f"the report did not finish rendering:\n{proc.stderr[-3000:]}")
    return json.loads(html.unescape(found[-1]))


def screenshot(report: Path, out: Path, dataset: str, size: str = "1400,900") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        driver = f"window.__hardneg_dataset = {json.dumps(dataset)};\n" + (JS / "show.js").read_text()
        _instrument(Path(report), page, driver)
        subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp}/profile",
                "--virtual-time-budget=20000",
                f"--window-size={size}",
                f"--screenshot={Path(out).resolve()}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--screenshot" in args:
        i = args.index("--screenshot")
        ds = args[args.index("--dataset") + 1] if "--dataset" in args else "squad_pairs"
        screenshot(Path(args[0]), Path(args[i + 1]), ds)
    else:
        print(json.dumps(check(Path(args[0])), indent=1))
