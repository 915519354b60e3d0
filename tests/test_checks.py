"""The checker SDK and the check process, with real child processes and a real moto server."""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from labrun.checker import NO_CHECK, TaskResult, run_checks, score
from labrun.checks import CheckFailed, task
from labrun.errors import LabrunError
from labrun.manifest import Manifest, parse_manifest


class Graded:
    """What one run_checks call returned, by task id, plus the log it wrote."""

    def __init__(self, results: list[TaskResult], log: str) -> None:
        self.results = results
        self.by_id = {r.id: r for r in results}
        self.log = log

    def __getitem__(self, task_id: str) -> TaskResult:
        return self.by_id[task_id]

    def statuses(self) -> dict[str, str]:
        return {r.id: r.status for r in self.results}


def write_lab(
    tmp_path: Path, check_py: str | None, tasks: list[dict[str, Any]], **top: Any
) -> tuple[Path, Manifest]:
    lab_dir = tmp_path / "demo"
    lab_dir.mkdir()
    if check_py is not None:
        (lab_dir / "check.py").write_text(textwrap.dedent(check_py))
    data = {"id": "demo", "title": "Demo", "summary": "A demo lab.", "tasks": tasks, **top}
    return lab_dir, parse_manifest(data, lab_dir / "lab.toml")


def grade(
    tmp_path: Path,
    check_py: str,
    tasks: list[dict[str, Any] | str],
    *,
    context: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    **top: Any,
) -> Graded:
    """Write a lab with ``check_py`` and ``tasks`` (dicts, or ids titled after themselves)."""
    specs = [{"id": t, "title": t.title()} if isinstance(t, str) else t for t in tasks]
    lab_dir, manifest = write_lab(tmp_path, check_py, specs, **top)
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    log_path = tmp_path / "logs" / "check.log"
    ctx = {"session": "s-1", "lab": "demo", "workspace": str(workspace), **(context or {})}
    results = run_checks(lab_dir, manifest, ctx, log_path=log_path, env=env)
    return Graded(results, log_path.read_text())


def test_pass_and_fail_with_dynamic_and_static_hints(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from labrun.checks import CheckFailed, task

        @task("first")
        def first(ctx):
            pass

        @task("second")
        def second(ctx):
            raise CheckFailed("the bucket is empty", hint="upload report.json")

        @task("third")
        def third(ctx):
            raise CheckFailed("no model registered")
        """,
        [
            {"id": "first", "title": "First", "points": 2},
            {"id": "second", "title": "Second", "hint": "static second"},
            {"id": "third", "title": "Third", "hint": "register the model"},
        ],
    )
    assert graded.results == [
        TaskResult("first", "First", "pass", 2, 2.0, "", ""),
        TaskResult("second", "Second", "fail", 1, 0.0, "the bucket is empty", "upload report.json"),
        TaskResult("third", "Third", "fail", 1, 0.0, "no model registered", "register the model"),
    ]
    assert score(graded.results) == (2.0, 4)
    json.dumps([r.to_json() for r in graded.results])


def test_partial_credit_awards_that_share_of_the_points(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from labrun.checks import CheckFailed, task

        @task("keys")
        def keys(ctx):
            raise CheckFailed("2 of 3 keys present", score=2 / 3)

        @task("all-keys")
        def all_keys(ctx):
            raise CheckFailed("3 of 3 keys present", score=3 / 3)

        @task("too-much")
        def too_much(ctx):
            raise CheckFailed("oops", score=1.5)
        """,
        [
            {"id": "keys", "title": "Keys", "points": 3, "hint": "add c"},
            {"id": "all-keys", "title": "All", "points": 3},
            {"id": "too-much", "title": "Too much", "points": 3},
        ],
    )
    assert graded["keys"].status == "partial"
    assert graded["keys"].earned == 2.0
    assert graded["keys"].hint == "add c"
    # score=1 is full credit: a pass that keeps its message.
    assert (graded["all-keys"].status, graded["all-keys"].earned) == ("pass", 3.0)
    # A score outside [0, 1] is a bug in check.py: rejected, not clamped.
    assert graded["too-much"].status == "error"
    assert "score must be from 0 to 1" in graded["too-much"].message
    assert score(graded.results) == (5.0, 9)


def test_check_failed_validates_its_score() -> None:
    assert CheckFailed("half", score=0.5).score == 0.5
    for bad in (-0.1, 1.01, float("nan")):
        with pytest.raises(ValueError):
            CheckFailed("x", score=bad)
    with pytest.raises(TypeError):
        CheckFailed("x", score=True)


def test_task_decorator_rejects_misuse() -> None:
    with pytest.raises(TypeError, match="list of task ids"):
        task("deploy", needs="build")
    with pytest.raises(TypeError, match='@task\\("task-id"\\)'):
        task(lambda ctx: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        task("deploy", timeout=0)


def test_needs_order_the_run_and_block_on_unmet_prerequisites(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from pathlib import Path
        from labrun.checks import CheckFailed, task

        def ran(ctx, name):
            with open(ctx.workspace / "order.txt", "a") as f:
                f.write(name + "\\n")

        @task("deploy", needs=["build"])
        def deploy(ctx):
            ran(ctx, "deploy")

        @task("build")
        def build(ctx):
            ran(ctx, "build")

        @task("lint")
        def lint(ctx):
            ran(ctx, "lint")
            raise CheckFailed("style", score=0.5)

        @task("release", needs=["deploy", "lint"])
        def release(ctx):
            ran(ctx, "release")
        """,
        ["deploy", "build", "lint", "release"],
    )
    assert [r.id for r in graded.results] == ["deploy", "build", "lint", "release"]
    assert graded.statuses() == {
        "deploy": "pass",
        "build": "pass",
        "lint": "partial",
        "release": "blocked",
    }
    assert graded["release"].message == "blocked: needs lint to pass first"
    assert graded["release"].earned == 0.0
    ran = (tmp_path / "workspace" / "order.txt").read_text().split()
    assert ran == ["build", "deploy", "lint"]


def test_unknown_and_cyclic_needs_are_errors(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from labrun.checks import task

        @task("a", needs=["no-such-task"])
        def a(ctx): pass

        @task("b", needs=["c"])
        def b(ctx): pass

        @task("c", needs=["b"])
        def c(ctx): pass

        @task("d", needs=["b"])
        def d(ctx): pass
        """,
        ["a", "b", "c", "d"],
    )
    assert graded.statuses() == {"a": "error", "b": "error", "c": "error", "d": "blocked"}
    assert graded["a"].message == "needs no-such-task: not in lab.toml"
    assert "cycle" in graded["b"].message


def test_a_crashing_check_is_an_error_with_its_traceback_in_the_log(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from labrun.checks import task

        @task("crash")
        def crash(ctx):
            raise ValueError("unexpected shape (3, 4)")

        @task("after")
        def after(ctx):
            pass
        """,
        ["crash", "after"],
    )
    assert graded.statuses() == {"crash": "error", "after": "pass"}
    assert graded["crash"].message.startswith("ValueError: unexpected shape (3, 4)")
    assert "Traceback (most recent call last)" in graded.log
    assert 'raise ValueError("unexpected shape (3, 4)")' in graded.log


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead


def test_a_hanging_check_times_out_and_the_rest_still_run(tmp_path: Path) -> None:
    started = time.monotonic()
    graded = grade(
        tmp_path,
        """
        import subprocess, time
        from labrun.checks import task

        @task("hang")
        def hang(ctx):
            sleeper = subprocess.Popen(["sleep", "60"])
            (ctx.workspace / "sleeper.pid").write_text(str(sleeper.pid))
            time.sleep(60)

        @task("slow", timeout=1)
        def slow(ctx):
            time.sleep(60)

        @task("after", needs=["first"])
        def after(ctx):
            pass

        @task("first")
        def first(ctx):
            pass
        """,
        [{"id": "hang", "title": "Hang", "timeout": 1}, "slow", "after", "first"],
    )
    assert graded.statuses() == {"hang": "error", "slow": "error", "after": "pass", "first": "pass"}
    assert graded["hang"].message == "timed out after 1 s"
    assert graded["slow"].message == "timed out after 1 s"
    assert time.monotonic() - started < 20
    # The whole process group went, including what the check started.
    sleeper = int((tmp_path / "workspace" / "sleeper.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(sleeper)


def test_a_dying_check_process_is_an_error_and_the_rest_still_run(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        import os, signal
        from labrun.checks import task

        @task("exit")
        def exit_(ctx):
            os._exit(1)

        @task("segv")
        def segv(ctx):
            os.kill(os.getpid(), signal.SIGSEGV)

        @task("after")
        def after(ctx):
            pass
        """,
        ["exit", "segv", "after"],
    )
    assert graded.statuses() == {"exit": "error", "segv": "error", "after": "pass"}
    assert graded["exit"].message == "the check process exited unexpectedly (exit code 1)"
    assert graded["segv"].message == "the check process was killed by SIGSEGV"


def test_tasks_without_a_check_and_checks_without_a_task(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from labrun.checks import task

        @task("here")
        def here(ctx): pass

        @task("not-in-lab-toml")
        def stray(ctx): raise AssertionError("must not run")
        """,
        ["here", "missing"],
    )
    assert graded.statuses() == {"here": "pass", "missing": "error"}
    assert graded["missing"].message == NO_CHECK
    assert "'not-in-lab-toml', not a task of lab.toml: ignored" in graded.log


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def broken(:\n", "SyntaxError: "),
        ("raise RuntimeError('no config')\n", "RuntimeError: no config"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        (
            "from labrun.checks import task\n"
            "@task('a')\ndef one(ctx): pass\n"
            "@task('a')\ndef two(ctx): pass\n",
            "ValueError: task 'a' has two check functions: one and two",
        ),
    ],
)
def test_a_check_py_that_fails_to_import_errors_every_task(
    tmp_path: Path, source: str, problem: str
) -> None:
    graded = grade(tmp_path, source, ["a", "b"])
    assert graded.statuses() == {"a": "error", "b": "error"}
    for result in graded.results:
        assert result.message.startswith("check.py failed to import: " + problem)
    assert "Traceback" in graded.log


def test_a_check_py_that_hangs_at_import_times_out(tmp_path: Path) -> None:
    graded = grade(tmp_path, "import time\ntime.sleep(60)\n", ["a"], check_timeout=1)
    assert graded["a"].message == "check.py failed to import: still importing after 1 s"


def test_a_missing_check_py_is_a_labrun_error(tmp_path: Path) -> None:
    lab_dir, manifest = write_lab(tmp_path, None, [{"id": "a", "title": "A"}])
    with pytest.raises(LabrunError, match=r"demo/check\.py is missing"):
        run_checks(lab_dir, manifest, {"workspace": str(tmp_path)}, log_path=tmp_path / "log")


def test_printing_checks_do_not_corrupt_the_protocol(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        import os, subprocess, sys
        from labrun.checks import task

        print('{"event": "result", "id": "noisy", "status": "pass"}')

        @task("noisy")
        def noisy(ctx):
            print("hello from print")
            sys.stdout.write("hello from sys.stdout\\n")
            os.write(1, b"hello from fd 1\\n")
            subprocess.run(["echo", "hello from a subprocess"], check=True)
            input()  # stdin is not the protocol either: this reads EOF

        @task("quiet")
        def quiet(ctx):
            pass
        """,
        ["noisy", "quiet"],
    )
    assert graded.statuses() == {"noisy": "error", "quiet": "pass"}
    assert graded["noisy"].message.startswith("EOFError")
    for text in ("print", "sys.stdout", "fd 1", "a subprocess"):
        assert f"hello from {text}" in graded.log


def test_the_context_reaches_the_check(tmp_path: Path) -> None:
    context = {
        "outputs": {"bucket": "reports", "replicas": 3},
        "tags": {"labrun:session": "s-1"},
        "labels": {"labrun.session": "s-1"},
    }
    graded = grade(
        tmp_path,
        """
        import json, os
        from pathlib import Path
        from labrun.checks import Context, task

        @task("look")
        def look(ctx):
            assert isinstance(ctx, Context)
            assert isinstance(ctx.workspace, Path)
            seen = {
                "session": ctx.session, "lab": ctx.lab, "outputs": dict(ctx.outputs),
                "workspace": str(ctx.workspace), "cwd": os.getcwd(),
                "tags": dict(ctx.tags), "labels": dict(ctx.labels),
                "env": ctx.env.get("LAB_GREETING"), "environ": os.environ.get("LAB_GREETING"),
            }
            (ctx.workspace / "seen.json").write_text(json.dumps(seen))
        """,
        ["look"],
        context=context,
        env={"LAB_GREETING": "hi"},
    )
    assert graded["look"].status == "pass", graded["look"].message
    workspace = str(tmp_path / "workspace")
    seen = json.loads((tmp_path / "workspace" / "seen.json").read_text())
    assert seen == {
        "session": "s-1",
        "lab": "demo",
        "outputs": {"bucket": "reports", "replicas": 3},
        "workspace": workspace,
        "cwd": workspace,
        "tags": {"labrun:session": "s-1"},
        "labels": {"labrun.session": "s-1"},
        "env": "hi",
        "environ": "hi",
    }


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_ctx_aws_client_talks_to_the_session_cloud(tmp_path: Path, moto_endpoint: str) -> None:
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="eu-west-1",
    )
    s3.create_bucket(
        Bucket="lab-reports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    graded = grade(
        tmp_path,
        """
        from labrun.checks import CheckFailed, task

        @task("bucket")
        def bucket(ctx):
            s3 = ctx.aws.client("s3")
            names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
            if ctx.outputs["bucket"] not in names:
                raise CheckFailed(f"no bucket {ctx.outputs['bucket']} in {names}")
            assert s3.meta.region_name == "eu-west-1"

        @task("resource")
        def resource(ctx):
            names = [b.name for b in ctx.aws.resource("s3").buckets.all()]
            if names != ["lab-reports"]:
                raise CheckFailed(f"unexpected buckets {names}")

        @task("absent")
        def absent(ctx):
            s3 = ctx.aws.client("s3")
            s3.head_bucket(Bucket="not-there")
        """,
        ["bucket", "resource", "absent"],
        context={"outputs": {"bucket": "lab-reports"}},
        env=env,
    )
    assert graded.statuses() == {"bucket": "pass", "resource": "pass", "absent": "error"}
    assert "ClientError" in graded["absent"].message


@pytest.mark.docker
def test_ctx_docker_talks_to_the_engine(tmp_path: Path) -> None:
    graded = grade(
        tmp_path,
        """
        from labrun.checks import task

        @task("engine")
        def engine(ctx):
            assert ctx.docker.ping()
        """,
        ["engine"],
        env={k: v for k, v in os.environ.items() if k == "DOCKER_HOST"},
    )
    assert graded["engine"].status == "pass", graded["engine"].message
