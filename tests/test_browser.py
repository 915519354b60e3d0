"""The pages people look at, in a real browser: the live lab page and the class report.

Debian's chromium, headless, driven by Playwright (launched with the flags that work
offline; never `playwright install`). The lab page is served by the real `labrun ui` in a
child process for a session started by the real CLI; the class report is built by the real
`labrun class report` from reports the real `labrun grade --upload` handed in.

Each test saves a screenshot of its page into $LABRUN_SCREENSHOTS (default: the test's
tmp folder); docs/images/ holds one of each, taken this way.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from testing.labsession import LabSession

TEST_LABS = Path(__file__).parent / "labs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)")
WAIT_MS = 60_000  # a check or a teardown on a busy shared machine


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless chromium with a fresh profile; skipped without it, except under CI."""
    if not CHROMIUM.is_file():
        reason = f"no {CHROMIUM}: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI is set but there is {reason}", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LABRUN_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class LabPage:
    """`labrun ui SESSION --no-browser` in a child process, and the URL it printed."""

    def __init__(
        self, lab: LabSession, *, browser: bool = False, env: dict[str, str] | None = None
    ) -> None:
        """With --no-browser unless `browser`; `env` defaults to the session's CLI's."""
        options = [] if browser else ["--no-browser"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labrun", "ui", lab.id, *options],
            env=lab.cli_env if env is None else env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.printed: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.printed.append(line)
            found = URL_RE.search(line)
            if found:
                self.url, self.port, self.token = found.group(0), found.group(1), found.group(2)
                return
        raise AssertionError(f"no URL printed: {self.printed} {self.process.stderr}")

    def status_of(self, path: str, headers: dict[str, str] | None = None) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST JSON with the token, as the page's script does; the status and answer."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"X-Labrun-Token": self.token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait(self, timeout: float = 30) -> tuple[int, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, "".join(self.printed) + out + err

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def ui_demo(tmp_path: Path) -> Iterator[LabSession]:
    lab = LabSession.start("ui-demo", tmp_path / "home", labs_dir=TEST_LABS)
    try:
        yield lab
    finally:
        if lab.labrun("status", lab.id, "--json").returncode == 0:
            lab.labrun("stop", lab.id)


def task_status(page: Page, task: str) -> Any:
    return page.locator(f'#tasks li[data-task="{task}"]')


# --- the lab page --------------------------------------------------------------------------


def test_the_lab_page_checks_hints_counts_down_extends_and_stops(
    browser: BrowserContext, ui_demo: LabSession, shots: Path
) -> None:
    served = LabPage(ui_demo)
    try:
        # Only the URL with the token opens anything.
        assert served.status_of("/") == 403
        assert served.status_of("/api/state") == 403
        assert served.status_of("/?token=not-the-token") == 403
        assert served.status_of("/api/state", {"X-Labrun-Token": served.token}) == 200

        page = browser.new_page()
        page.goto(served.url)
        expect(page.locator("#readme h1")).to_have_text("UI demo")
        expect(page.locator("#readme table td").first).to_have_text("notes")
        expect(task_status(page, "notes")).to_have_attribute("data-status", "unchecked")

        # The countdown ticks, from the session's own expiry.
        first = int(page.locator("#time-left").get_attribute("data-seconds") or 0)
        page.wait_for_timeout(2200)
        later = int(page.locator("#time-left").get_attribute("data-seconds") or 0)
        assert 0 < later < first <= 3600
        assert re.fullmatch(r"\d+m\d\ds", page.locator("#time-left").inner_text())
        expect(page.locator("#cost")).to_contain_text("$")

        # Check: both fail and show their first hint; then the learner writes notes.md.
        page.click("#check")
        notes = task_status(page, "notes")
        expect(notes).to_have_attribute("data-status", "fail", timeout=WAIT_MS)
        expect(notes.locator(".hint")).to_have_text(
            "Hint 1: Write one line into notes.md in your workspace."
        )
        (ui_demo.workspace / "notes.md").write_text("I read the README\n")
        page.click("#check")
        expect(notes).to_have_attribute("data-status", "pass", timeout=WAIT_MS)
        expect(notes.locator(".hint")).to_have_count(0)
        answer = task_status(page, "answer")
        expect(answer).to_have_attribute("data-status", "fail")
        expect(answer.locator(".message")).to_have_text("answer.txt is missing")
        expect(page.locator("#score")).to_have_text("1/3")

        # Hints, one level at a time: the check showed the first; the button reveals the next.
        expect(answer.locator(".hint")).to_have_text(
            ["Hint 1: The answer is a number: the one from the README."]
        )
        answer.locator(".next-hint").click()
        expect(answer.locator(".hint")).to_have_count(2)
        expect(answer.locator(".hint").nth(1)).to_have_text("Hint 2: echo 42 > answer.txt")
        expect(answer.locator(".next-hint")).to_have_count(0)  # that was the last level
        shared = json.loads(
            ui_demo.labrun("hint", "answer", "--session", ui_demo.id, "--json").stdout
        )
        assert (shared["level"], shared["levels"], shared["more"]) == (2, 2, 0)  # per session
        page.screenshot(path=str(shots / "lab-page.png"), full_page=True)

        # A check in the terminal shows on the page too (it polls the session's attempts).
        (ui_demo.workspace / "answer.txt").write_text("42\n")
        code, _ = ui_demo.cli_check()
        assert code == 0
        expect(answer).to_have_attribute("data-status", "pass", timeout=WAIT_MS)

        # Extend: 30 more minutes, within the lab's max_ttl.
        before = int(page.locator("#time-left").get_attribute("data-seconds") or 0)
        page.click("#extend")
        # From about an hour to about an hour and a half (5000 to 5999 seconds).
        expect(page.locator("#time-left")).to_have_attribute(
            "data-seconds", re.compile(r"^5\d{3}$"), timeout=WAIT_MS
        )
        after = int(page.locator("#time-left").get_attribute("data-seconds") or 0)
        assert 1700 <= after - before <= 1800  # 30 minutes, less the seconds it took
        expires = json.loads(ui_demo.labrun("status", ui_demo.id, "--json").stdout)
        assert 5000 < expires["sessions"][0]["time_left_seconds"] <= 5400
        # Past the lab's max_ttl, or not a duration: refused in one line, nothing changes.
        code, refused = served.post("/api/extend", {"duration": "2h"})
        assert code == 400 and "max_ttl" in refused["error"] and "2h" in refused["error"]
        code, refused = served.post("/api/extend", {"duration": "soon"})
        assert code == 400 and "'soon' is not a duration" in refused["error"]
        code, refused = served.post("/api/hint/no-such-task", {})
        assert code == 400 and "no task 'no-such-task'" in refused["error"]

        # Stop asks first, then tears down and shows the receipt; the server ends with it.
        page.click("#stop")
        expect(page.locator("#stop-confirm")).to_be_visible()
        page.click("#stop-no")
        expect(page.locator("#stop-confirm")).to_be_hidden()
        page.click("#stop")
        page.click("#stop-yes")
        receipt = page.locator("#receipt")
        expect(receipt).to_contain_text("Nothing of this session remains.", timeout=WAIT_MS)
        expect(receipt).to_contain_text("terraform_data.desk")
        expect(page.locator("#time-left")).to_have_text("ended")
        code, printed = served.wait()
        assert code == 0 and "The lab page has stopped: the session has ended." in printed
        ended = json.loads(ui_demo.labrun("status", ui_demo.id, "--json").stdout)
        assert ended["sessions"][0]["status"] == "ended"
    finally:
        served.close()


def test_the_lab_page_ends_with_the_session_and_on_ctrl_c(ui_demo: LabSession) -> None:
    served = LabPage(ui_demo)
    try:
        served.process.send_signal(signal.SIGINT)
        code, printed = served.wait()
        assert code == 130, printed
        assert f"The lab page has stopped (Ctrl-C); session {ui_demo.id} keeps running." in printed
        status = json.loads(ui_demo.labrun("status", ui_demo.id, "--json").stdout)
        assert status["sessions"][0]["status"] == "active"  # Ctrl-C ends the page only

        served = LabPage(ui_demo)
        assert ui_demo.labrun("stop", ui_demo.id).returncode == 0  # from another terminal
        code, printed = served.wait()
        assert code == 0 and "the session has ended" in printed
    finally:
        served.close()
    refused = ui_demo.labrun("ui", ui_demo.id, "--no-browser")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"labrun: session {ui_demo.id} is ended: only an active session has a page"
    )


def test_the_lab_page_opens_the_browser_when_there_is_one(
    ui_demo: LabSession, tmp_path: Path
) -> None:
    """The user's browser as Python's webbrowser finds it ($BROWSER): here a script that
    writes down the URL it is given. Without a display, the URL is only printed."""
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"import pathlib, sys; pathlib.Path({str(opened)!r}).write_text(sys.argv[1])")
    headless = {k: v for k, v in ui_demo.cli_env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    browser = f"{sys.executable} {script} %s"
    for env, says, opens in (
        ({**headless, "DISPLAY": ":0", "BROWSER": browser}, "Opened in your browser.", True),
        ({**headless, "BROWSER": browser}, "Open it in your browser.", False),
    ):
        opened.unlink(missing_ok=True)
        served = LabPage(ui_demo, browser=True, env=env)
        try:
            assert served.process.stdout is not None
            assert served.process.stdout.readline().startswith(says)
            if opens:
                assert opened.read_text() == served.url
            else:
                assert not opened.exists()
        finally:
            served.process.send_signal(signal.SIGINT)
            served.wait()


# --- the class report ----------------------------------------------------------------------


def hand_in(tmp_path: Path, owner: str, share: Path, files: dict[str, str], *extra: str) -> str:
    """A learner's whole lab: start ui-demo, write `files`, `labrun grade --upload share`."""
    lab = LabSession.start("ui-demo", tmp_path / owner, owner=owner, labs_dir=TEST_LABS)
    for name, content in files.items():
        (lab.workspace / name).write_text(content)
    graded = lab.labrun("grade", "--out", str(tmp_path / f"{owner}-out"), "--upload", str(share),
                        *extra)  # fmt: skip
    assert graded.returncode in (0, 1), graded.stderr
    assert "Uploaded to" in graded.stdout
    return lab.id


def test_the_class_report_page_matches_the_reports_it_was_built_from(
    browser: BrowserContext, tmp_path: Path, shots: Path
) -> None:
    share = tmp_path / "share"
    done = {"notes.md": "done\n", "answer.txt": "42\n"}
    hand_in(tmp_path, "ada", share, done)
    hand_in(tmp_path, "grace", share, {"notes.md": "halfway\n"})
    hand_in(tmp_path, "linus", share, {"answer.txt": "41\n"})
    kept = hand_in(tmp_path, "margaret", share, done, "--keep")  # still running: flagged
    try:
        (share / "syllabus.pdf").write_bytes(b"%PDF-1.4")
        out = tmp_path / "class.html"
        made = subprocess.run(
            [sys.executable, "-m", "labrun", "class", "report", str(share), "--out", str(out)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        reports = [json.loads(p.read_text()) for p in share.rglob("report.json")]
        assert len(reports) == 4

        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(out.as_uri())
        assert requests == [out.as_uri()]  # self-contained: nothing else is fetched

        cells = page.locator("#results-table .result")
        expect(cells).to_have_count(4)
        shown = {
            cells.nth(i).get_attribute("data-owner"): (
                cells.nth(i).get_attribute("data-score"),
                cells.nth(i).get_attribute("data-status"),
            )
            for i in range(4)
        }
        expected = {r["owner"]: (f"{r['score']:g}/{r['total']}", _status(r)) for r in reports}
        assert shown == expected
        assert shown["ada"] == ("3/3", "passed") and shown["linus"] == ("0/3", "incomplete")
        assert shown["margaret"] == ("3/3", "passed")

        bars = page.locator("#chart-ui-demo rect.bar")
        expect(bars).to_have_count(2)
        shares = {
            bars.nth(i).get_attribute("data-label"): float(
                bars.nth(i).get_attribute("data-share") or -1
            )
            for i in range(2)
        }
        for task in ("notes", "answer"):
            passed = sum(
                t["status"] == "pass" for r in reports for t in r["tasks"] if t["id"] == task
            )
            assert shares[task] == pytest.approx(passed / len(reports), abs=1e-4)
        assert shares == {"notes": 0.75, "answer": 0.5}

        flagged = page.locator("#flagged-table tbody tr")
        expect(flagged).to_have_count(1)
        expect(flagged.first).to_contain_text(kept)
        expect(flagged.first.locator(".badge")).to_have_text("kept")
        expect(page.locator("#hints")).to_contain_text("The answer is a number")
        expect(page.locator("#skipped-table")).to_contain_text("syllabus.pdf")
        page.screenshot(path=str(shots / "class-report.png"), full_page=True)

        single = page.context.new_page()
        single.goto((tmp_path / "ada-out" / "report.html").as_uri())
        expect(single.locator("h1")).to_contain_text("(ui-demo)")
        expect(single.locator("#tasks .badge.pass")).to_have_count(2)
        single.screenshot(path=str(shots / "grade-report.png"), full_page=True)
    finally:
        subprocess.run(
            [sys.executable, "-m", "labrun", "stop", kept],
            env={**os.environ, "LABRUN_HOME": str(tmp_path / "margaret")},
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip


def _status(report: dict[str, Any]) -> str:
    if report["teardown"] is not None and not report["teardown"]["ok"]:
        return "left-running"
    return "passed" if report["passed"] else "incomplete"


def test_the_readme_shows_a_screenshot_of_each_page() -> None:
    """One screenshot of each page, as the tests above take them, is in docs/images/."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for name in ("lab-page.png", "class-report.png"):
        assert (root / "docs" / "images" / name).read_bytes().startswith(b"\x89PNG")
        assert f"(docs/images/{name})" in readme
