"""lab.toml: every field is validated, and every problem is one line naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrun.catalog import all_labs, find_lab, load_lab
from labrun.errors import BadInput, ManifestError
from labrun.manifest import load_manifest
from testing.cli import labrun

GOOD = """\
id = "demo"
title = "Demo"
summary = "A demo lab."
ttl = "1h"
max_ttl = "3h"
targets = ["local"]
requires = ["aws"]

[[tasks]]
id = "one"
title = "First"
points = 2
hint = "Try harder."

[[tasks]]
id = "two"
title = "Second"
"""


def write_lab(root: Path, toml: str, lab_id: str = "demo", parts: bool = True) -> Path:
    lab = root / lab_id
    (lab / "terraform").mkdir(parents=True)
    (lab / "lab.toml").write_text(toml)
    if parts:
        (lab / "README.md").write_text("# Demo\n")
        (lab / "check.py").write_text("")
    return lab


def test_a_good_manifest_loads_with_defaults(tmp_path: Path) -> None:
    lab = load_lab(write_lab(tmp_path, GOOD))
    m = lab.manifest
    assert (m.id, m.title, m.targets, m.requires) == ("demo", "Demo", ("local",), ("aws",))
    assert m.ttl.total_seconds() == 3600 and m.max_ttl.total_seconds() == 3 * 3600
    assert [(t.id, t.points, t.hint) for t in m.tasks] == [
        ("one", 2, "Try harder."),
        ("two", 1, ""),
    ]
    assert m.total_points == 3 and m.difficulty == "beginner" and m.version == "1"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (('id = "demo"', 'id = "other"'), "id", "must equal the lab's folder name"),
        (('id = "demo"', 'id = "Demo_1"'), "id", "must use only a-z, 0-9 and '-'"),
        (('title = "Demo"\n', ""), "title", "missing (required)"),
        (('summary = "A demo lab."', "summary = 3"), "summary", "must be a non-empty string"),
        (('ttl = "1h"', 'ttl = "soon"'), "ttl", "is not a duration"),
        (('ttl = "1h"', "ttl = 60"), "ttl", "must be a duration string"),
        (('max_ttl = "3h"', 'max_ttl = "30m"'), "max_ttl", "must be at least ttl"),
        (('targets = ["local"]', 'targets = ["gcp"]'), "targets", "'gcp' is not one of local, aws"),
        (('targets = ["local"]', 'targets = "local"'), "targets", "must be a list of strings"),
        (('requires = ["aws"]', 'requires = ["k8s"]'), "requires", "'k8s' is not one of docker, aws"),
        (('requires = ["aws"]', 'requires = ["aws", "aws"]'), "requires", "lists a value twice"),
        (('summary = "A demo lab."', 'summary = "x"\ncolour = "red"'), "colour", "unknown key"),
        (("points = 2", "points = -1"), "tasks[0].points", "must be an integer >= 0"),
        (("points = 2", 'points = "2"'), "tasks[0].points", "must be an integer >= 0"),
        (("points = 2", "points = 1.5"), "tasks[0].points", "must be an integer >= 0"),
        (('id = "two"', 'id = "one"'), "tasks[1].id", "'one' is declared twice"),
        (('id = "two"', 'id = "Two!"'), "tasks[1].id", "must use only"),
        (('title = "Second"', 'title = "Second"\nweight = 3'), "tasks[1].weight", "unknown key"),
        (('title = "First"\n', ""), "tasks[0].title", "missing (required)"),
        (('title = "Demo"', 'title = "Demo"\ndifficulty = "guru"'),
         "difficulty", "'guru' is not one of"),
        (('summary = "A demo lab."', 'summary = "x"\nbudget_usd = -2'), "budget_usd", "must be a number >= 0"),
        (('hint = "Try harder."', 'hint = "Try harder."\nhints = ["a"]'), "tasks[0].hints",
         "give either hint (one level) or hints (a list), not both"),
        (('hint = "Try harder."', 'hints = "Try harder."'), "tasks[0].hints",
         "must be a list of non-empty strings"),
        (('hint = "Try harder."', 'hints = ["Try", " "]'), "tasks[0].hints",
         "must be a list of non-empty strings"),
        (('hint = "Try harder."', "hint = 3"), "tasks[0].hint", "must be a non-empty string"),
    ],
)  # fmt: skip
def test_each_manifest_error_names_the_file_the_field_and_the_problem(
    tmp_path: Path, change: tuple[str, str], field: str, problem: str
) -> None:
    old, new = change
    assert old in GOOD
    lab = write_lab(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ManifestError) as caught:
        load_manifest(lab / "lab.toml")
    message = str(caught.value)
    assert message.startswith(f"{lab / 'lab.toml'}: {field}: "), message
    assert problem in message
    assert "\n" not in message


def test_a_task_may_give_hints_in_levels(tmp_path: Path) -> None:
    levels = 'hints = ["A nudge.", "Closer.", "The answer."]'
    lab = load_lab(write_lab(tmp_path, GOOD.replace('hint = "Try harder."', levels)))
    one, two = lab.manifest.tasks
    assert one.hints == ("A nudge.", "Closer.", "The answer.") and one.hint == "A nudge."
    assert two.hints == () and two.hint == ""


def test_no_tasks_and_bad_toml_are_refused(tmp_path: Path) -> None:
    lab = write_lab(tmp_path, GOOD.split("[[tasks]]")[0])
    with pytest.raises(ManifestError, match="tasks: missing"):
        load_manifest(lab / "lab.toml")
    (lab / "lab.toml").write_text("id = ")
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(lab / "lab.toml")


def test_a_lab_missing_a_part_is_refused(tmp_path: Path) -> None:
    lab = write_lab(tmp_path, GOOD, parts=False)
    with pytest.raises(ManifestError, match=r"README.md: missing"):
        load_lab(lab)


def test_labs_are_found_in_labs_dir_then_labrun_labs_path_then_bundled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_lab(first, GOOD.replace('title = "Demo"', 'title = "First"'))
    write_lab(second, GOOD.replace('title = "Demo"', 'title = "Second"'))
    write_lab(second, GOOD.replace('id = "demo"', 'id = "only-second"'), lab_id="only-second")
    monkeypatch.setenv("LABRUN_LABS_PATH", f"{tmp_path / 'missing'}:{second}")
    assert find_lab("demo").manifest.title == "Second"
    assert find_lab("demo", first).manifest.title == "First"
    assert find_lab("only-second", first).path == (second / "only-second").resolve()
    labs, broken = all_labs(first)
    assert {"demo", "only-second"} <= {lab.id for lab in labs} and not broken
    with pytest.raises(BadInput, match="no lab called 'nope'"):
        find_lab("nope")
    with pytest.raises(BadInput, match="no such folder"):
        find_lab("demo", tmp_path / "absent")


def test_list_shows_good_labs_and_names_broken_ones(tmp_path: Path) -> None:
    write_lab(tmp_path, GOOD)
    write_lab(tmp_path, GOOD.replace('id = "demo"', 'id = "wrong"'), lab_id="broken")
    proc = labrun("list", "--labs-dir", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    listing = json.loads(proc.stdout)
    assert "demo" in [lab["id"] for lab in listing["labs"]]
    assert any("broken/lab.toml: id:" in line for line in listing["broken"])


def test_a_broken_lab_on_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_lab(tmp_path, GOOD.replace("points = 2", "points = -3"))
    proc = labrun("start", "demo", "--labs-dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "tasks[0].points: must be an integer >= 0" in proc.stderr
    assert "Traceback" not in proc.stderr
