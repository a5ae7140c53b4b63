"""The report of a real run opens in headless Chromium without console errors, plots showing.

Chromium comes from Debian's package (install.sh installs it as root). Without it this test
fails rather than skips: a report nobody has opened in a browser is not tested.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from report_fixtures import PNG_SIGNATURE, SCRIPT, data_pngs, small_run  # noqa: F401
from typer.testing import CliRunner

from promptcheck.cli.main import app


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is needed: apt-get install chromium (install.sh does this as root)")


def test_report_opens_in_headless_chromium_without_console_errors(small_run, tmp_path):
    page = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", str(small_run), "--out", str(page)])
    assert res.exit_code == 0, res.output
    shot = tmp_path / "shot.png"
    # --enable-logging=stderr prints every console message as ":INFO:CONSOLE..." (checked with a
    # page that calls console.error: docs/report.md). A fresh profile keeps runs independent.
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE", line)]
    assert console == [], console
    assert shot.read_bytes().startswith(PNG_SIGNATURE) and shot.stat().st_size > 20_000
    html = page.read_text()
    pngs = data_pngs(html)
    assert len(pngs) == 4 and all(p.startswith(PNG_SIGNATURE) and len(p) > 2000 for p in pngs)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_console_check_sees_errors(tmp_path):
    """The check above can fail: a page with a script error is caught the same way."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom'); missing_function();</script></body></html>")
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={tmp_path / 's.png'}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE", line)]
    assert any("boom" in line for line in console) and any("missing_function" in line for line in console)
