"""A learner's day through the real CLI: start again, sessions found without naming them,
the lab's values as variables, instructions, a shell, hints one level at a time, and
messages that stay text.

learner-demo (tests/labs) needs no cloud, so its sessions start in seconds; its outputs, task
titles, check messages and hints are full of text that looks like rich markup. s3-hello runs
on the local cloud, where what a learner tags with LABRUN_TAGS is swept by `labrun stop`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labrun.environment import output_variable
from labrun.meter import Meter
from labrun.render import receipt
from labrun.store import SessionStore
from labrun.teardown import Receipt
from labrun.tfengine import Terraform
from testing.cli import labrun, labrun_json
from testing.labsession import aws_client
from testing.terminal import Terminal

LABS_DIR = Path(__file__).parent / "labs"
LABS = ("--labs-dir", str(LABS_DIR))
README = (LABS_DIR / "learner-demo" / "README.md").read_text()
WIDE = {"COLUMNS": "300"}  # tables on one line per row, so that a cell's text reads whole


def start(*extra: str, lab: str = "learner-demo", env: dict[str, str] | None = None) -> Any:
    return labrun_json("start", lab, *LABS, *extra, env=env)


def one_line_error(proc: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for part in parts:
        assert part in proc.stderr, proc.stderr


def test_start_again_shows_the_running_session_and_new_starts_another() -> None:
    first = start()
    assert first["resumed"] is False
    again = start()
    assert again["resumed"] is True and again["session"] == first["session"]
    assert set(again) == set(first) and again["workspace"] == first["workspace"]

    shown = labrun("start", "learner-demo", *LABS, "--ttl", "30m")
    assert shown.returncode == 0, shown.stderr
    assert f"Your session {first['session']} of learner-demo is already running" in shown.stdout
    assert "--ttl and --budget are for new sessions" in shown.stdout
    assert "`labrun start learner-demo --new` starts another" in shown.stdout
    assert f"workspace: {first['workspace']}" in shown.stdout

    other = start(env={"LABRUN_OWNER": "someone-else"})  # another owner's is not mine
    assert other["resumed"] is False and other["session"] != first["session"]
    fresh = labrun("start", "learner-demo", *LABS, "--new")
    assert fresh.returncode == 0, fresh.stderr
    card = fresh.stdout
    assert "Session " in card and "time left:" in card and "workspace:" in card
    next_lines = card.split("Next:\n", 1)[1].splitlines()
    assert [line.split()[:2] for line in next_lines] == [
        ["labrun", "instructions"], ["labrun", "shell"], ["labrun", "check"],
    ]  # fmt: skip
    assert "Text such as" not in card  # the README is for `labrun instructions`
    newest = start()  # resumes the newest of mine
    assert newest["resumed"] is True and newest["session"] not in (
        first["session"],
        other["session"],
    )
    for session in (first["session"], other["session"], newest["session"]):
        assert labrun_json("stop", session)["ok"]
    assert start()["resumed"] is False  # nothing active: a new one
    assert labrun_json("stop")["ok"]


def test_the_session_is_inferred_from_env_then_workspace_then_the_only_one(
    tmp_path: Path,
) -> None:
    a, b = start()["session"], start("--new")["session"]
    ambiguous = labrun("check")
    one_line_error(ambiguous, "2 sessions are active", a, b, "LABRUN_SESSION", "workspace")

    workspace = Path(labrun_json("status", b)["sessions"][0]["workspace"])
    below = workspace / "notes"
    below.mkdir()
    assert labrun_json("env", cwd=below)["LABRUN_SESSION"] == b
    assert labrun_json("check", cwd=workspace, expect=1)["session"] == b
    assert labrun_json("hint", cwd=workspace)["session"] == b
    assert labrun_json("instructions", cwd=workspace)["session"] == b
    graded = labrun_json("grade", "--keep", "--out", str(tmp_path / "r"), cwd=workspace, expect=1)
    assert graded["session"] == b and graded["kept"] is True
    before = labrun_json("status", b)["sessions"][0]["time_left_seconds"]
    extended = labrun_json("extend", "30m", cwd=workspace)
    assert extended["session"] == b and extended["time_left_seconds"] >= before + 29 * 60

    # LABRUN_SESSION comes before the workspace, and the argument before both.
    assert labrun_json("env", cwd=workspace, env={"LABRUN_SESSION": a})["LABRUN_SESSION"] == a
    assert labrun_json("env", b, env={"LABRUN_SESSION": a})["LABRUN_SESSION"] == b
    unknown = labrun("check", env={"LABRUN_SESSION": "nosuch00"})
    one_line_error(unknown, "LABRUN_SESSION=nosuch00 names no session")

    # One session left: `labrun extend 30m` needs no name.
    assert labrun_json("stop", a)["ok"]
    assert labrun_json("extend", "30m", cwd=tmp_path)["session"] == b
    one_line_error(labrun("extend", b), f"missing DURATION, e.g. `labrun extend {b} 30m`")
    one_line_error(labrun("extend"), "give a DURATION")
    assert labrun_json("stop", cwd=workspace)["session"] == b


def test_env_exports_the_outputs_and_the_tags() -> None:
    session = start()["session"]
    env = labrun_json("env")
    assert env["LAB_MARKER_FILE"] == f"marker-{session}.txt"
    assert env["LAB_TITLE_TEXT"] == "[bold]plain[/bold]"
    assert json.loads(env["LAB_SETTINGS"]) == {"replicas": 2, "note": "[/] not markup"}
    marks = SessionStore.open().get(session).tags()
    assert json.loads(env["LABRUN_TAGS"]) == marks and marks["labrun:session"] == session

    # The export lines survive a shell's eval, quotes, brackets and all.
    show = 'printf "%s\\n%s" "$LAB_SETTINGS" "$LABRUN_TAGS"'
    script = f'eval "$({sys.executable} -m labrun env)"; {show}'
    shown = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    settings, tags = shown.stdout.splitlines()
    assert json.loads(settings) == json.loads(env["LAB_SETTINGS"])
    assert json.loads(tags) == marks
    assert labrun_json("stop")["ok"]


def test_output_names_become_upper_snake_case_variables() -> None:
    assert output_variable("log_group") == "LAB_LOG_GROUP"
    assert output_variable("logGroupName") == "LAB_LOG_GROUP_NAME"
    assert output_variable("api-url") == "LAB_API_URL"
    assert output_variable("s3Bucket2") == "LAB_S3_BUCKET2"


def readme_example(language: str, after: str) -> str:
    """The first ```language block of README.md after the text `after`."""
    text = (Path(__file__).parents[1] / "README.md").read_text()
    return text.split(after, 1)[1].split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_what_a_learner_tags_with_labrun_tags_is_swept_by_stop() -> None:
    """The boto3 example of the README, run for real: the learner's own queue, log group and
    bucket carry LABRUN_TAGS, so `labrun stop` finds them as the session's and removes them."""
    session = start(lab="s3-hello")["session"]
    env = {**os.environ, **labrun_json("env")}
    example = readme_example("python", "**The session's variables.**")
    assert "LABRUN_TAGS" in example
    subprocess.run([sys.executable, "-c", example], env=env, check=True)
    assert "my-queue" in aws_client("sqs", env).list_queues()["QueueUrls"][0]
    stopped = labrun_json("stop", session)
    assert stopped["ok"] and stopped["remaining"] == []
    swept = {(item["kind"], item.get("name") or item["id"]) for item in stopped["swept"]}
    assert {kind for kind, _ in swept} >= {
        "aws:sqs:queue", "aws:logs:log-group", "aws:s3:bucket"
    }, swept  # fmt: skip


def test_terraform_takes_labrun_tags_as_a_map_variable_or_through_jsondecode(
    tmp_path: Path,
) -> None:
    """The Terraform examples of the README, with the embedded Terraform: both give the map."""
    session = start()["session"]
    tags = labrun_json("env")["LABRUN_TAGS"]
    (tmp_path / "main.tf").write_text(
        'variable "labrun_tags" { type = map(string) }\n'
        'variable "labrun_tags_json" { type = string }\n'
        "locals { decoded = jsondecode(var.labrun_tags_json) }\n"
        'output "as_map" { value = var.labrun_tags }\n'
        'output "decoded" { value = local.decoded }\n'
    )
    variables = {"TF_VAR_labrun_tags": tags, "TF_VAR_labrun_tags_json": tags}
    applied = Terraform(tmp_path, variables, tmp_path / "tf.log").init_and_apply()
    assert applied.ok, applied.errors
    assert applied.outputs["as_map"] == json.loads(tags) == applied.outputs["decoded"]
    assert json.loads(tags)["labrun:session"] == session
    assert labrun_json("stop")["ok"]


def test_labrun_terraform_gives_a_module_the_tags_and_the_outputs(tmp_path: Path) -> None:
    """The README's Terraform example through `labrun terraform`: no export needed."""
    session = start()["session"]
    (tmp_path / "main.tf").write_text(
        'variable "labrun_tags" {\n  type    = map(string)\n  default = {}\n}\n'
        'resource "terraform_data" "seen" {\n'
        '  provisioner "local-exec" { command = "printf %s \\"$LAB_MARKER_FILE\\" > seen.txt" }\n'
        "}\n"
        'output "tags" { value = var.labrun_tags }\n'
    )
    for args in (["init"], ["apply", "-auto-approve"]):
        ran = labrun("terraform", *args, cwd=tmp_path)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    outputs = json.loads(labrun("terraform", "output", "-json", cwd=tmp_path).stdout)
    assert outputs["tags"]["value"] == SessionStore.open().get(session).tags()
    assert (tmp_path / "seen.txt").read_text() == f"marker-{session}.txt"
    assert labrun_json("stop")["ok"]


def test_instructions_print_the_readme_plain_or_page_it_on_a_terminal(tmp_path: Path) -> None:
    session = start()["session"]
    piped = labrun("instructions")
    assert piped.returncode == 0 and piped.stdout == README
    document = labrun_json("instructions")
    assert document["session"] == session and document["text"] == README

    # On a terminal: formatted, through $PAGER.
    paged = tmp_path / "paged.txt"
    pager = tmp_path / "pager"
    pager.write_text(f'#!/bin/sh\n{{ echo PAGED; cat; }} > "{paged}"\n')
    pager.chmod(0o755)
    env = {**os.environ, "PAGER": str(pager), "TERM": "xterm"}
    with Terminal([sys.executable, "-m", "labrun", "instructions"], env, tmp_path) as terminal:
        assert terminal.wait() == 0
    text = paged.read_text()
    assert text.startswith("PAGED\n") and "\x1b[" in text  # styled, for less -R
    assert "Learner demo" in text and "[bold]this[/bold]" in text and "# Learner" not in text
    assert labrun_json("stop")["ok"]


def test_shell_runs_commands_from_a_pipe_in_the_workspace(tmp_path: Path) -> None:
    session = start()
    commands = 'pwd\necho "S=$LABRUN_SESSION M=$LAB_MARKER_FILE"\necho "T=$LABRUN_TAGS"\nexit 3\n'
    env = {k: v for k, v in os.environ.items() if k != "SHELL"}  # no $SHELL: /bin/sh
    proc = subprocess.run(
        [sys.executable, "-m", "labrun", "shell"], input=commands, capture_output=True,
        text=True, env=env, cwd=tmp_path, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    where, names, tags = proc.stdout.splitlines()
    assert Path(where) == Path(session["workspace"]).resolve()
    assert names == f"S={session['session']} M=marker-{session['session']}.txt"
    assert json.loads(tags.removeprefix("T="))["labrun:session"] == session["session"]
    not_a_shell = labrun("shell", env={"SHELL": str(tmp_path / "nosh")})
    one_line_error(not_a_shell, "is not a program")
    assert labrun_json("stop")["ok"]
    one_line_error(labrun("shell", session["session"]), "only an active one has a shell")


@pytest.mark.parametrize("program", ["/bin/bash", "/bin/sh", "/usr/bin/zsh", "/usr/bin/fish"])
def test_shell_shows_a_prompt_marker_survives_ctrl_c_and_exit_returns(
    tmp_path: Path, program: str
) -> None:
    if not Path(program).exists():
        pytest.skip(f"{program} is not installed here")
    session = start()["session"]
    env = {**os.environ, "SHELL": program, "HOME": str(tmp_path), "TERM": "dumb", "PS1": "$ "}
    argv = [sys.executable, "-m", "labrun", "shell"]
    with Terminal(argv, env, tmp_path) as terminal:
        terminal.expect(f"a shell in session {session}'s workspace; `exit` comes back")
        terminal.expect(f"(labrun {session}) ")
        # A Ctrl-C meant for the shell's command reaches labrun too: it must keep waiting.
        os.kill(terminal.pid, signal.SIGINT)
        terminal.send("echo value=$LAB_MARKER_FILE\r")
        terminal.expect(f"value=marker-{session}.txt")
        terminal.send("exit 4\r")
        assert terminal.wait() == 4
    assert labrun_json("stop")["ok"]


def test_hints_are_revealed_one_level_at_a_time_and_kept_per_session() -> None:
    session = start()["session"]
    checked = labrun_json("check", expect=1)["tasks"]
    greeting, marker = checked
    assert greeting["hint"] == "Look at the files in your workspace."
    assert greeting["more_hints"] == 2
    assert marker["hint"] == "touch the file named by $LAB_MARKER_FILE [/]"
    assert marker["more_hints"] == 0

    table = labrun("check", env=WIDE).stdout
    assert "`labrun hint greeting` for more (2 hints left)" in table
    assert "expected [bold]hello[/bold] [/]" in table  # a check's message, as text

    second = labrun_json("hint")  # the first task that did not pass
    assert (second["task"], second["level"], second["levels"], second["more"]) == (
        "greeting", 2, 3, 1,
    )  # fmt: skip
    assert second["hints"] == [
        "Look at the files in your workspace.",
        "The file hello.txt must contain the word hello.",
    ]
    last = labrun("hint", "greeting")
    assert last.returncode == 0
    assert "hint 3 of 3" in last.stdout and "  3. echo hello > hello.txt" in last.stdout
    assert "That was the last hint for this task." in last.stdout
    assert labrun_json("hint", "greeting")["level"] == 3  # no fourth: the same three
    assert labrun_json("check", expect=1)["tasks"][0]["more_hints"] == 0
    assert SessionStore.open().hint_levels(session) == {"greeting": 3, "marker": 1}
    one_line_error(labrun("hint", "nosuch"), "has no task 'nosuch' (its tasks: greeting, marker)")

    workspace = Path(labrun_json("status", session)["sessions"][0]["workspace"])
    (workspace / "hello.txt").write_text("hello\n")
    (workspace / f"marker-{session}.txt").write_text("")
    assert labrun_json("check")["score"] == 3
    one_line_error(labrun("hint"), "every task passed at your last check")
    assert labrun_json("stop")["ok"]


def test_durations_of_zero_or_without_unit_get_one_clear_message() -> None:
    zero, zero_minutes, bare = (
        labrun("start", "learner-demo", *LABS, "--ttl", ttl) for ttl in ("0", "0m", "30")
    )
    one_line_error(zero, "--ttl: '0' is zero: a duration must be longer than zero")
    one_line_error(zero_minutes, "--ttl: '0m' is zero: a duration must be longer than zero")
    one_line_error(bare, "--ttl: '30' has no unit: write 30m for minutes")
    assert labrun_json("status", "--all")["sessions"] == []  # nothing was started


def test_a_refused_extension_counts_to_the_second() -> None:
    session = start("--ttl", "1h59m30s")["session"]  # learner-demo's max_ttl is 2h
    refused = labrun("extend", "1m")
    one_line_error(
        refused,
        f"cannot extend {session} by 1m00s: a session of learner-demo lives at most 2h00m "
        f"(its max_ttl) and {session} already has 1h59m30s of it; extend it by at most 30s",
    )
    assert labrun_json("extend", "30s")["time_left_seconds"] > 7000
    one_line_error(labrun("extend", "1s"), "it cannot be extended any more")
    assert labrun_json("stop")["ok"]


def test_ended_sessions_have_no_time_left() -> None:
    session = start()["session"]
    assert labrun_json("stop")["ok"]
    [ended] = labrun_json("status", "--all")["sessions"]
    assert ended["session"] == session and ended["status"] == "ended"
    assert ended["time_left_seconds"] == 0
    assert ended["cost_here_usd"] == 0.0  # a local session costs nothing here


def test_local_costs_are_labelled_as_what_aws_would_charge() -> None:
    assert Meter(0.009, 2.0, local=True).rate_text() == (
        "$0 here; on AWS $0.0090/h estimated, budget $2.00"
    )
    assert Meter(0.009, 2.0).rate_text() == "$0.0090/h estimated, budget $2.00"
    assert Meter(0.0, None, local=True).rate_text() == "$0 here (and $0 on AWS)"
    assert Meter(0.5, 1.0, hours=1, local=True).to_json()["cost_here_usd"] == 0.0
    assert Meter(0.5, 1.0, hours=1).to_json()["cost_here_usd"] == 0.5
    assert Meter(0.0, 0.0, hours=1, local=True).text() == "$0 here"  # a free lab: no AWS figures
    planned = labrun("plan", "learner-demo", *LABS, env=WIDE)
    assert planned.returncode == 0, planned.stderr
    assert "Estimated cost on AWS" in planned.stdout
    assert "On the local target it costs $0" in planned.stdout


def test_text_that_looks_like_markup_prints_as_text(tmp_path: Path) -> None:
    started = labrun("start", "learner-demo", *LABS, env=WIDE)
    assert started.returncode == 0, started.stderr
    assert "output title-text: [bold]plain[/bold]" in started.stdout
    assert "output settings: {" in started.stdout and '"[/] not markup"' in started.stdout
    listed = labrun("list", *LABS, env=WIDE).stdout
    assert "Learner demo [beta]" in listed
    assert (
        "hello.txt says [bold]hello[/bold]"
        in labrun("show", "learner-demo", *LABS, env=WIDE).stdout
    )
    assert labrun_json("stop")["ok"]

    # A lint finding, and the plural of its count.
    lab = tmp_path / "learner-demo"
    shutil.copytree(LABS_DIR / "learner-demo", lab)
    with (lab / "terraform" / "main.tf").open("a") as main:
        main.write('variable "labrun_lab" { type = string }\n')
    linted = labrun("lab", "lint", str(lab), env=WIDE)
    assert linted.returncode == 0
    assert "learner-demo: no errors, 1 warning" in linted.stdout


def test_a_receipt_with_markup_in_its_errors_prints_them_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    receipt(Receipt("s1234567", errors=["aws: [/] bad [bold]thing[/bold]"], checked=["aws"]))
    assert "error: aws: [/] bad [bold]thing[/bold]" in capsys.readouterr().out
