"""Checks of the python-engineering lab: a bug fix, a regression test and a clean git history.

The learner's workspace is a git repository that the lab's Terraform made with one commit on
main, also kept as ``refs/labrun/start``. The checks read it with git and run pytest in
temporary copies of it, so grading never writes into the workspace:

- ``fix`` runs the hidden suite (hidden_tests/, next to this file) against the learner's
  mlmetrics package as it is in the workspace now;
- ``tests`` runs the learner's own tests against their code, then against the original,
  buggy code of the starting commit: at least one must fail there and none here;
- ``branch``, ``commit`` and ``main-untouched`` read the history.

Every task is graded on its own (no ``needs``), so each mistake shows up where it was made.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from labrun.checks import CheckFailed, task

LAB_DIR = Path(__file__).resolve().parent
HIDDEN_SUITE = LAB_DIR / "hidden_tests" / "test_hidden_mlmetrics.py"
START_REF = "refs/labrun/start"
DEFAULT_BRANCH = "fix-recall"
PACKAGE = "mlmetrics"
CODE_FILE = "mlmetrics/classification.py"
STARTER_TESTS = "tests/test_metrics.py"
BUG_WORDS = ("recall", "f1")  # hidden tests about the bug; the others guard what worked
GIT_TIMEOUT = 20.0  # seconds, per git command
PYTEST_TIMEOUT = 45.0  # seconds, per pytest run
VAGUE_SUBJECTS = {
    "bug", "bugfix", "bug fix", "change", "changes", "commit", "done", "fix", "fix bug",
    "fix it", "fixed", "fixed bug", "fixes", "minor fix", "small fix", "stuff", "test", "tests",
    "update", "updates", "wip", "work", "asdf", "temp", "tmp",
}  # fmt: skip


# --- git ---------------------------------------------------------------------------------------


class Repo:
    """The learner's repository, read with git (never written)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_PAGER": "cat",
            "GIT_OPTIONAL_LOCKS": "0",  # `git status` must not rewrite the learner's index
            "GIT_CEILING_DIRECTORIES": str(path.parent),  # never climb to an enclosing repo
            "LC_ALL": "C",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                ["git", *args], cwd=self.path, env=self.env, stdin=subprocess.DEVNULL,
                capture_output=True, timeout=GIT_TIMEOUT, check=False,
            )  # fmt: skip
        except FileNotFoundError:
            raise RuntimeError("git is not installed (or not on PATH)") from None
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"`git {args[0]}` did not answer within {GIT_TIMEOUT:g} s") from None

    def git(self, *args: str) -> str:
        """stdout of a git command that must succeed."""
        proc = self.run(*args)
        if proc.returncode != 0:
            error = proc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"`git {' '.join(args)}` failed: {error}")
        return proc.stdout.decode(errors="replace")

    def ok(self, *args: str) -> bool:
        return self.run(*args).returncode == 0

    def commit_of(self, ref: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def start(self) -> str:
        """The commit the lab started from."""
        found = self.commit_of(START_REF)
        if found is None:  # the hidden ref is gone: fall back on the one root commit
            roots = self.git("rev-list", "--max-parents=0", "--all").split()
            if len(set(roots)) == 1:
                return roots[0]
            raise CheckFailed(
                "cannot find the commit this lab started from (the history was rewritten)",
                hint="Start over: `labrun stop`, then `labrun start python-engineering`.",
            )
        return found

    def branches(self) -> list[str]:
        return self.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split()

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD")
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def commits(self, base: str, tip: str) -> list[tuple[str, str]]:
        """(sha, subject) of the commits reachable from tip and not from base, newest first."""
        out = self.git("log", "--format=%H%x00%s", f"{base}..{tip}", "--")
        pairs = [line.split("\0", 1) for line in out.splitlines() if "\0" in line]
        return [(sha, subject) for sha, subject in pairs]

    def changed_files(self, base: str, tip: str) -> list[str]:
        return self.git("diff", "--name-only", base, tip, "--").split("\n")[:-1]

    def uncommitted(self) -> list[str]:
        """`git status --porcelain` lines: changed and untracked files (not ignored ones)."""
        out = self.git("status", "--porcelain", "--untracked-files=all")
        return [line for line in out.splitlines() if line.strip()]

    def worktree_differs(self, commit: str, path: str) -> bool:
        """Whether the checked-out `path` differs from `commit`'s (tracked files)."""
        return not self.ok("diff", "--quiet", commit, "--", path)

    def short(self, sha: str) -> str:
        return sha[:7]

    def copy_worktree(self, destination: Path) -> None:
        """Copy the files of the working tree git would see (not .git, not ignored files)."""
        out = self.git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        destination.mkdir(parents=True, exist_ok=True)
        for name in sorted(set(out.split("\0")) - {""}):
            source = self.path / name
            if source.is_file():  # tracked files deleted from the working tree are skipped
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)

    def export(self, commit: str, path: str, destination: Path) -> None:
        """Write `path` as it is in `commit` under `destination` (git archive)."""
        proc = self.run("archive", "--format=tar", commit, "--", path)
        if proc.returncode != 0:
            raise RuntimeError(f"git archive {commit} {path}: {proc.stderr.decode().strip()}")
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python < 3.11.4
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
            archive.extractall(destination, **safe)

    def show(self, commit: str, path: str) -> str:
        return self.git("show", f"{commit}:{path}")


def open_repo(ctx) -> Repo:
    workspace = Path(ctx.workspace)
    if not workspace.is_dir():
        raise CheckFailed(
            f"the workspace {workspace} is gone",
            hint="Start over: `labrun stop`, then `labrun start python-engineering`.",
        )
    repo = Repo(workspace)
    proc = repo.run("rev-parse", "--show-toplevel")
    top = proc.stdout.decode().strip()
    if proc.returncode != 0 or Path(top).resolve() != workspace.resolve():
        raise CheckFailed(
            "your workspace is not a git repository any more (was .git deleted?)",
            hint="Start over: `labrun stop`, then `labrun start python-engineering`.",
        )
    return repo


def branch_name(ctx) -> str:
    return str(ctx.outputs.get("branch") or DEFAULT_BRANCH)


# --- pytest ------------------------------------------------------------------------------------


@dataclass
class PytestRun:
    """One pytest run, read from its JUnit XML report."""

    exit_code: int
    output: str
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> passed|failed|skipped
    messages: dict[str, str] = field(default_factory=dict)  # test id -> first failure line

    @property
    def failed(self) -> list[str]:
        return [t for t, outcome in self.outcomes.items() if outcome == "failed"]

    @property
    def passed(self) -> list[str]:
        return [t for t, outcome in self.outcomes.items() if outcome == "passed"]

    @property
    def collection_broken(self) -> bool:
        """pytest could not import a test file (exit code 2), or ran nothing it could report."""
        return self.exit_code in (2, 3, 4) or (self.exit_code == 1 and not self.outcomes)

    def first_problem(self, with_name: bool = True) -> str:
        for test_id in self.failed:
            message = self.messages.get(test_id, "failed")
            return f"{display(test_id)}: {message}" if with_name else message
        lines = [line for line in self.output.splitlines() if line.startswith("E ")]
        lines = lines or [line for line in self.output.splitlines() if "Error" in line]
        return _shorten(lines[0][2:].strip() if lines else self.output.strip()[-200:])


class PytestTimeout(Exception):
    """A pytest run went past PYTEST_TIMEOUT (its process group was killed)."""


def run_pytest(folder: Path, *args: str) -> PytestRun:
    """Run `python -m pytest` in `folder` with labrun's Python, plugins off, nothing cached."""
    report = folder.parent / f"{folder.name}-junit.xml"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no",
        "-o", "junit_family=xunit2", f"--junitxml={report}", *args,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONPATH", None)  # the package under test must be the copy in `folder`
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", NO_COLOR="1")
    proc = subprocess.Popen(
        command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=PYTEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise PytestTimeout from None
    if not report.is_file() and "No module named pytest" in output:
        raise RuntimeError(f"pytest is not installed for labrun's Python ({sys.executable})")
    run = PytestRun(proc.returncode, output)
    if report.is_file():
        _read_junit(report, run, folder)
    return run


def _read_junit(report: Path, run: PytestRun, folder: Path) -> None:
    for case in ET.parse(report).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            run.outcomes[test_id] = "failed"
            run.messages[test_id] = _problem_line(problem, folder)
        elif case.find("skipped") is not None:
            run.outcomes.setdefault(test_id, "skipped")
        else:
            run.outcomes.setdefault(test_id, "passed")


def _problem_line(problem: ET.Element, folder: Path) -> str:
    """One line for a failure: its message, or for an import error the error and its place."""
    message = (problem.get("message") or "").strip()
    text = problem.text or ""
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    if errors and (not message or message == "collection failure"):
        where = re.findall(r'File "([^"]+)", line (\d+)', text)
        line = errors[-1]
        if where:
            path, number = where[-1]
            with suppress(ValueError):
                path = str(Path(path).relative_to(folder))
            line += f" ({path}, line {number})"
        return _shorten(line)
    return _shorten(message.splitlines()[0] if message else "failed")


def display(test_id: str) -> str:
    """`tests.test_metrics::test_recall[x]` -> `test_recall[x]` (a collection error: the file)."""
    classname, _, name = test_id.partition("::")
    return name or classname


def function_name(test_id: str) -> str:
    return display(test_id).split("[", 1)[0]


def _shorten(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    if text.startswith("AssertionError: "):
        text = text[len("AssertionError: ") :]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --- the tasks ---------------------------------------------------------------------------------


@task("branch")
def branch(ctx):
    """The work happens on the lab's branch, and it is the one checked out."""
    repo = open_repo(ctx)
    wanted = branch_name(ctx)
    branches = repo.branches()
    current = repo.current_branch()
    if wanted not in branches:
        others = [b for b in branches if b != "main"]
        if others and "main" in branches:
            raise CheckFailed(
                f"there is no branch {wanted}; you created {_names(others)}",
                hint=f"The lab grades the branch named {wanted}. Rename yours: "
                f"`git branch -m {others[0]} {wanted}`.",
            )
        where = f"you are on {current}" if current else "your HEAD is detached"
        raise CheckFailed(
            f"there is no branch {wanted} yet ({where})",
            hint=f"Create it and switch to it in one go: `git switch -c {wanted}` "
            "(any commits and changes you already have come along).",
        )
    if current != wanted:
        where = f"you are on {current}" if current else "your HEAD is detached"
        raise CheckFailed(
            f"branch {wanted} exists, but {where}",
            hint=f"`git switch {wanted}`: labrun grades the files you have checked out, "
            "so stay on your branch while you work and when you run `labrun check`.",
        )


@task("tests")
def tests(ctx):
    """The learner's tests pass on their code, and at least one fails on the original code."""
    repo = open_repo(ctx)
    start = repo.start()
    code_changed = repo.worktree_differs(start, PACKAGE)
    with tempfile.TemporaryDirectory(prefix="labrun-tests-") as tmp:
        yours_dir = Path(tmp) / "yours"
        repo.copy_worktree(yours_dir)
        try:
            yours = run_pytest(yours_dir)
            if code_changed:
                original_dir = Path(tmp) / "original"
                shutil.copytree(yours_dir, original_dir)
                shutil.rmtree(original_dir / PACKAGE, ignore_errors=True)
                repo.export(start, PACKAGE, original_dir)
                original = run_pytest(original_dir)
            else:
                original = yours  # the code is the original: one run says it all
        except PytestTimeout:
            raise CheckFailed(
                f"your tests did not finish within {PYTEST_TIMEOUT:g} s",
                hint="Does a test (or the code) loop forever? Run `python3 -m pytest` to see.",
            ) from None
    if yours.exit_code == 5 or (not yours.outcomes and yours.exit_code == 0):
        raise CheckFailed(
            "pytest finds no test in your workspace",
            hint="Tests live in tests/, in files named test_*.py, in functions named test_*. "
            "Did you delete tests/test_metrics.py?",
        )
    if yours.collection_broken:
        raise CheckFailed(
            f"pytest cannot run your tests: {yours.first_problem()}",
            hint="Run `python3 -m pytest` in your workspace and fix the first error it shows.",
        )
    if yours.failed:
        failing = [display(t) for t in yours.failed]
        if not code_changed:
            raise CheckFailed(
                f"{_names(failing)} {'fails' if len(failing) == 1 else 'fail'} against the buggy "
                f"code, as a good regression test should ({yours.first_problem(with_name=False)})",
                hint="Half way there: now fix recall in mlmetrics/classification.py (task 3). "
                "Once the code is fixed, every test must pass.",
                score=0.5,
            )
        verb = "fails" if len(failing) == 1 else "fail"
        broken = sorted({function_name(t) for t in yours.failed} & _starter_test_names(repo, start))
        if broken:
            hint = (
                f"{_names(broken)} passed before your change: your change to the code broke it. "
                "`git diff` shows what you changed; the fix is one expression in recall."
            )
        else:
            hint = (
                "Once the bug is fixed, every test must pass. Is the failing test's expected "
                "value right? Work it out by hand from the definition: recall = TP / (TP + FN)."
            )
        raise CheckFailed(
            f"{len(failing)} of your tests {verb} against your fixed code: {yours.first_problem()}",
            hint=hint,
        )
    catches = [t for t in original.failed if t in yours.passed or t not in yours.outcomes]
    starter = _starter_test_names(repo, start)
    if not catches:
        new = sorted({function_name(t) for t in yours.outcomes} - starter)
        if new:
            message = (
                f"all your tests pass against the original, buggy code too ({_names(new)} "
                "included): none of them would have caught the bug"
            )
        else:
            message = "you have not added a test yet: the starter's tests all pass on the bug"
        raise CheckFailed(
            message,
            hint=_away_from_branch(ctx, repo, start)
            or "A regression test reproduces the bug report: assert that "
            "recall([1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0]) == 0.25. It must fail before "
            "the fix and pass after it. Never write down the value the buggy code returns.",
        )
    removed = sorted(starter - {function_name(t) for t in yours.outcomes})
    if removed:
        raise CheckFailed(
            f"your new tests catch the bug, but the starter's {_names(removed)} "
            f"{'is' if len(removed) == 1 else 'are'} gone",
            hint="Keep the tests that were there: they guard what already works. "
            "Add your test next to them; get the old ones back with "
            f"`git restore --source={repo.short(start)} {STARTER_TESTS}` and re-add yours.",
            score=0.5,
        )


def _away_from_branch(ctx, repo: Repo, start: str) -> str | None:
    """A hint when the learner's commits are on the branch but another one is checked out."""
    wanted = branch_name(ctx)
    current = repo.current_branch()
    if current == wanted or wanted not in repo.branches() or not repo.commits(start, wanted):
        return None
    return (
        f"You are on {current or 'a detached HEAD'}, but your work is on {wanted}: "
        f"`git switch {wanted}` (labrun grades the files you have checked out)."
    )


def _starter_test_names(repo: Repo, start: str) -> set[str]:
    try:
        tree = ast.parse(repo.show(start, STARTER_TESTS))
    except (RuntimeError, SyntaxError):
        return set()
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
    }


@task("fix")
def fix(ctx):
    """The hidden test suite passes against the learner's mlmetrics package."""
    repo = open_repo(ctx)
    with tempfile.TemporaryDirectory(prefix="labrun-fix-") as tmp:
        root = Path(tmp) / "hidden"
        root.mkdir()
        package = Path(ctx.workspace) / PACKAGE
        if not (package / "__init__.py").is_file():
            raise CheckFailed(
                f"there is no {PACKAGE} package in your workspace any more",
                hint=f"Get it back from the last commit: `git restore {PACKAGE}`.",
            )
        shutil.copytree(package, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(HIDDEN_SUITE, root / HIDDEN_SUITE.name)
        (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")
        try:
            run = run_pytest(root, HIDDEN_SUITE.name)
        except PytestTimeout:
            raise CheckFailed(
                f"the hidden tests did not finish within {PYTEST_TIMEOUT:g} s",
                hint="Does recall (or another function) loop forever now?",
            ) from None
    if run.exit_code == 0 and not run.failed:
        return
    if run.collection_broken or not run.outcomes:
        raise CheckFailed(
            f"the hidden tests cannot import your {PACKAGE} package: {run.first_problem()}",
            hint="Run `python3 -m pytest` in your workspace: it shows the same error "
            "(a typo, a missing import, an indentation problem...).",
        )
    bug = [t for t in run.failed if any(w in function_name(t) for w in BUG_WORDS)]
    if bug:
        raise CheckFailed(
            f"recall is still wrong: {len(bug)} hidden tests about recall and F1 fail, e.g. "
            f"{run.messages.get(bug[0], display(bug[0]))}",
            hint=_fix_hint(ctx, repo),
        )
    others = run.failed
    raise CheckFailed(
        f"recall is fixed, but {len(others)} other hidden test(s) fail: {run.first_problem()}",
        hint="Your change broke something that used to work. `git diff` shows what you "
        "changed: the fix is one expression in recall; leave the other functions alone.",
        score=0.5,
    )


def _fix_hint(ctx, repo: Repo) -> str:
    start = repo.start()
    if repo.worktree_differs(start, CODE_FILE):
        return (
            "recall must be TP / (TP + FN): of the items that really are positive, the share "
            "that was found. Compare its return line with its docstring."
        )
    wanted = branch_name(ctx)
    current = repo.current_branch()
    if (
        current != wanted
        and wanted in repo.branches()
        and CODE_FILE in repo.changed_files(start, wanted)
    ):
        return (
            f"You are on {current or 'a detached HEAD'}, where the code is still the original; "
            f"your fix is on {wanted}: `git switch {wanted}`."
        )
    if not repo.worktree_differs(start, "tests"):
        return (
            f"The bug is in recall, in {CODE_FILE}: compare its docstring with the line that "
            "computes it. Write the failing test first (task tests), then fix the code."
        )
    return (
        f"{CODE_FILE} is unchanged: the bug is in the code, so the fix goes there. Never change "
        "what a test expects to make it pass. Read recall's docstring, then its return line."
    )


@task("commit")
def commit(ctx):
    """The fix and the tests are committed on the branch, with a message that says why."""
    repo = open_repo(ctx)
    start = repo.start()
    wanted = branch_name(ctx)
    dirty = repo.uncommitted()
    on_branch = repo.commits(start, wanted) if wanted in repo.branches() else []
    if not on_branch:
        on_main = repo.commits(start, "main") if "main" in repo.branches() else []
        if on_main:
            raise CheckFailed(
                f"your {len(on_main)} commit(s) are on main, not on {wanted}",
                hint=f"Move them to {wanted}. {_move_off_main(repo, start, wanted)}",
            )
        if dirty:
            how = (
                f"On branch {wanted}: `git add {PACKAGE} tests` then "
                '`git commit -m "Fix recall: divide by the real positives (TP + FN)"`.'
            )
            if not repo.worktree_differs(start, CODE_FILE):
                how = f"Fix the code first (task fix), then commit. {how}"
            raise CheckFailed(
                f"nothing is committed on {wanted} yet: {len(dirty)} changed file(s) are only "
                "in your working tree",
                hint=how,
            )
        raise CheckFailed(
            f"there is no commit on {wanted} yet",
            hint="Fix the bug and add a test first, then commit them on your branch.",
        )
    issues: list[tuple[float, str, str]] = []  # (penalty, problem, hint)
    if dirty:
        files = _names([line[3:] for line in dirty])
        issues.append((
            0.5,
            f"{len(dirty)} file(s) have changes that are not committed ({files})",
            "`git status` lists them: `git add` the ones that belong to the fix, then "
            "`git commit` again (files you do not want: `git restore` or .gitignore them).",
        ))  # fmt: skip
    changed = repo.changed_files(start, wanted)
    if not any(p.startswith(f"{PACKAGE}/") for p in changed):
        issues.append((
            0.25,
            f"your commits on {wanted} do not change the code in {PACKAGE}/",
            f"Commit the fix itself: `git add {CODE_FILE}` then `git commit`.",
        ))  # fmt: skip
    if not any(_is_test_file(p) for p in changed):
        issues.append((
            0.25,
            f"your commits on {wanted} do not add or change any test",
            "Commit your regression test with the fix: `git add tests` then `git commit`.",
        ))  # fmt: skip
    subjects = [subject for _, subject in on_branch]
    if all(_vague(s) for s in subjects):
        issues.append((
            0.25,
            f"the commit message ({subjects[0]!r}) does not say what changed",
            "Say what and why in the first line, e.g. \"Fix recall: divide by TP + FN, not "
            'TP + FP". Reword the last commit with `git commit --amend -m "..."`.',
        ))  # fmt: skip
    if issues:
        score = max(0.25, 1.0 - sum(penalty for penalty, _, _ in issues))
        raise CheckFailed(
            "; ".join(problem for _, problem, _ in issues), hint=issues[0][2], score=score
        )


def _move_off_main(repo: Repo, start: str, wanted: str) -> str:
    """The git commands that put main's new commits on `wanted` and main back at `start`."""
    short = repo.short(start)
    reset_main = f"`git branch -f main {short}` (puts main back)"
    current = repo.current_branch()
    if wanted not in repo.branches():
        return f"`git switch -c {wanted}` (a new branch that keeps them), then {reset_main}."
    if repo.ok("merge-base", "--is-ancestor", "main", wanted):  # wanted has them already
        if current == "main":
            return f"`git switch {wanted}`, then {reset_main}."
        return f"Put main back: `git branch -f main {short}`."
    if repo.ok("merge-base", "--is-ancestor", wanted, "main"):  # wanted is behind main
        if current == wanted:
            return f"`git merge --ff-only main` (brings {wanted} up to main), then {reset_main}."
        return (
            f"`git branch -f {wanted} main` (moves {wanted} up to main), `git switch {wanted}`, "
            f"then {reset_main}."
        )
    return (
        f"`git switch {wanted}`, `git cherry-pick {short}..main` (copies main's new commits), "
        f"then {reset_main}."
    )


def _is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/") or name.startswith("test_") or name.endswith("_test.py")


def _vague(subject: str) -> bool:
    words = re.sub(r"[^a-z0-9 ]+", " ", subject.lower()).split()
    return len(words) < 2 or len(subject.strip()) < 10 or " ".join(words) in VAGUE_SUBJECTS


@task("main-untouched")
def main_untouched(ctx):
    """main still points at the starting commit, and the work is committed on the branch."""
    repo = open_repo(ctx)
    start = repo.start()
    short = repo.short(start)
    wanted = branch_name(ctx)
    branches = repo.branches()
    if "main" not in branches:
        raise CheckFailed(
            "there is no main branch any more (was it renamed?)",
            hint=f"Recreate it where it was: `git branch main {short}`.",
        )
    main = repo.commit_of("refs/heads/main")
    if main != start:
        ahead = repo.commits(start, "main")
        if ahead and repo.ok("merge-base", "--is-ancestor", start, "main"):
            more = ", ..." if len(ahead) > 1 else ""
            problem = f"main has {len(ahead)} new commit(s) ({ahead[-1][1]!r}{more})"
        else:
            problem = "main no longer points at the lab's initial commit (its history changed)"
        hint = f"Commits for the fix belong on {wanted}. {_move_off_main(repo, start, wanted)}"
        raise CheckFailed(problem + f"; it must stay at {short}", hint=hint)
    if wanted not in branches or not repo.commits(start, wanted):
        raise CheckFailed(
            f"main is untouched so far, but nothing is committed on {wanted} yet",
            hint=f"This passes once your work is committed on {wanted} and main still "
            f"points at the initial commit {short}.",
        )
