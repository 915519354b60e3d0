"""`labrun providers mirror` and LABRUN_PROVIDER_MIRROR, with the real embedded Terraform.

No provider registry is reachable from the test machines, so a registry provider is never
downloaded here. What is tested for real: labs that need nothing, the one-line failure of a
lab whose registry cannot be reached (a `.invalid` host: unreachable everywhere), and the
other half of the classroom workflow, `init` with LABRUN_PROVIDER_MIRROR, from a mirror in
the layout `terraform providers mirror` writes (a packed filesystem mirror).
"""

from __future__ import annotations

import json
import platform
import shutil
import zipfile
from pathlib import Path

import pytest

from labrun import cli
from labrun.mirror import terraform_error
from labrun.tfengine import Terraform

REPO = Path(__file__).resolve().parents[1]
BUILTIN_ONLY = """\
variable "labrun_session" { type = string }

resource "terraform_data" "nothing" {
  input = var.labrun_session
}
"""
NEEDS = """\
terraform {
  required_providers {
    none = { source = "registry.invalid/labrun/none" }
  }
}
"""
FAKE_PROVIDER = """\
terraform {
  required_providers {
    fake = { source = "labrun-test/fake", version = "1.0.0" }
  }
}
"""


def make_lab(root: Path, lab_id: str, module: str, starter: str | None = None) -> Path:
    lab = root / lab_id
    (lab / "terraform").mkdir(parents=True)
    (lab / "lab.toml").write_text(
        f'id = "{lab_id}"\ntitle = "T"\nsummary = "S"\n\n[[tasks]]\nid = "a"\ntitle = "A"\n'
    )
    (lab / "README.md").write_text("# T\n")
    (lab / "check.py").write_text("")
    (lab / "terraform" / "main.tf").write_text(module)
    if starter is not None:
        (lab / "files").mkdir()
        (lab / "files" / "versions.tf").write_text(starter)
        (lab / "files" / "notes.txt").write_text("not Terraform\n")
    return lab


def labrun(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_builtin_only_lab_needs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = tmp_path / "mirror"
    code, out, err = labrun(
        capsys, "providers", "mirror", str(mirror), "--lab", "python-engineering"
    )
    assert code == 0, out + err
    assert "python-engineering" in out and "nothing to mirror" in out
    assert f"export LABRUN_PROVIDER_MIRROR={mirror}" in out
    assert mirror.is_dir() and not any(mirror.iterdir())


def test_unreachable_registry_is_one_line_per_lab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labs = tmp_path / "labs"
    needs = make_lab(labs, "needs-provider", NEEDS)
    make_lab(labs, "starter-needs", BUILTIN_ONLY, starter=NEEDS)
    make_lab(labs, "builtin-only", BUILTIN_ONLY)
    mirror = tmp_path / "mirror"
    ours = ("--lab", "needs-provider", "--lab", "starter-needs", "--lab", "builtin-only")
    command = ("providers", "mirror", str(mirror), "--labs-dir", str(labs), *ours)
    code, out, err = labrun(capsys, *command)
    assert code == 1
    assert "Traceback" not in out + err
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert set(lines) == {"needs-provider", "starter-needs", "builtin-only"}, out
    assert "FAILED" in lines["needs-provider"]
    assert (
        "registry.invalid/labrun/none: could not connect to registry.invalid"
        in (lines["needs-provider"])
    )
    assert (
        "files/ (the learner's Terraform): registry.invalid/labrun/none" in lines["starter-needs"]
    )
    assert "nothing to mirror" in lines["builtin-only"]
    assert "2 lab(s) failed: needs-provider, starter-needs" in out
    assert not (needs / "terraform" / ".terraform").exists()  # the lab folder is untouched

    code, out, _ = labrun(capsys, *command, "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["directory"] == str(mirror)
    assert {item["lab"]: item["status"] for item in report["labs"]} == {
        "builtin-only": "builtin", "needs-provider": "failed", "starter-needs": "failed",
    }  # fmt: skip


def test_bundled_labs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docker-basics needs nothing; iac-basics' learner needs hashicorp/aws: mirrored where
    the registry answers, one clear line where it does not (here)."""
    mirror = tmp_path / "mirror"
    code, out, err = labrun(
        capsys, "providers", "mirror", str(mirror), "--lab", "docker-basics", "--lab", "iac-basics"
    )
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "nothing to mirror" in lines["docker-basics"], out
    if code == 0:
        assert "mirrored hashicorp/aws v" in lines["iac-basics"]
        return
    assert code == 1 and "Traceback" not in out + err
    assert "FAILED" in lines["iac-basics"]
    assert "hashicorp/aws: could not connect to registry.terraform.io" in lines["iac-basics"]


def test_a_bad_labrun_terraform_is_one_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABRUN_TERRAFORM", "no-such-terraform")
    code, _, err = labrun(
        capsys, "providers", "mirror", str(tmp_path / "m"), "--lab", "python-engineering"
    )
    assert code == 2
    assert err.strip() == "labrun: LABRUN_TERRAFORM='no-such-terraform': no such executable"


def test_terraform_error_reads_the_first_error() -> None:
    output = (
        "- Mirroring kreuzwerker/docker...\n\nError: Provider not available\n\nFailed to "
        "download registry.terraform.io/kreuzwerker/docker from its origin\nregistry: could not "
        "connect to registry.terraform.io: failed to request\ndiscovery document\n\n"
        "Error: Something else\n"
    )
    assert terraform_error(output) == (
        "kreuzwerker/docker: could not connect to registry.terraform.io"
    )
    assert terraform_error("Error: Invalid block\n\nOn main.tf line 3: oops\n") == (
        "Invalid block: On main.tf line 3: oops"
    )


# --- LABRUN_PROVIDER_MIRROR: every init installs from the mirror, with no network ----------


def terraform_platform() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())
    return f"{platform.system().lower()}_{machine or platform.machine()}"


def write_mirror(mirror: Path) -> None:
    """A mirror of one (fake) provider, laid out as `terraform providers mirror` writes it:
    the zip under HOSTNAME/NAMESPACE/TYPE/, and the JSON indexes beside it."""
    folder = mirror / "registry.terraform.io" / "labrun-test" / "fake"
    folder.mkdir(parents=True)
    archive = f"terraform-provider-fake_1.0.0_{terraform_platform()}.zip"
    with zipfile.ZipFile(folder / archive, "w") as zipped:
        entry = zipfile.ZipInfo("terraform-provider-fake_v1.0.0")
        entry.external_attr = 0o755 << 16
        zipped.writestr(entry, "#!/bin/sh\nexit 1\n")
    (folder / "index.json").write_text(json.dumps({"versions": {"1.0.0": {}}}))
    archives = {terraform_platform(): {"url": archive}}
    (folder / "1.0.0.json").write_text(json.dumps({"archives": archives}))


def test_init_installs_from_the_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    write_mirror(mirror)
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text(FAKE_PROVIDER)
    log = tmp_path / "terraform.log"

    assert not Terraform(module, {}, log).init().ok  # no mirror: the registry, unreachable
    shutil.rmtree(module / ".terraform", ignore_errors=True)

    monkeypatch.setenv("LABRUN_PROVIDER_MIRROR", str(mirror))
    result = Terraform(module, {}, log).init()
    assert result.ok, log.read_text()
    installed = module / ".terraform" / "providers" / "registry.terraform.io" / "labrun-test"
    assert (
        installed / "fake" / "1.0.0" / terraform_platform() / "terraform-provider-fake_v1.0.0"
    ).is_file()
    assert f"-plugin-dir {mirror}" in log.read_text()


def test_builtin_only_init_with_an_empty_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text(BUILTIN_ONLY)
    (module / "terraform.tfvars").write_text('labrun_session = "abc"\n')
    monkeypatch.setenv("LABRUN_PROVIDER_MIRROR", str(mirror))
    terraform = Terraform(module, {}, tmp_path / "terraform.log")
    result = terraform.init_and_apply()
    assert result.ok, (tmp_path / "terraform.log").read_text()
    assert result.changed == ["terraform_data.nothing"]
    assert terraform.destroy().ok


# --- an init that cannot install a provider says which, from where, and the fix -------------


def test_start_names_the_provider_the_registry_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    labs = tmp_path / "labs"
    make_lab(labs, "needs-provider", BUILTIN_ONLY + NEEDS)
    code, _, err = labrun(capsys, "start", "needs-provider", "--labs-dir", str(labs))
    assert code == 3 and len(err.strip().splitlines()) == 1, err
    assert (
        "terraform init failed: could not download the provider registry.invalid/labrun/none "
        "from registry.invalid (no access to the provider registry?): fill a provider mirror "
        "with `labrun providers mirror DIR` on a machine with internet access, then set "
        "LABRUN_PROVIDER_MIRROR=DIR on this one (nothing was left running)"
    ) in err

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("LABRUN_PROVIDER_MIRROR", str(mirror))
    code, _, err = labrun(capsys, "start", "needs-provider", "--labs-dir", str(labs))
    assert code == 3
    assert (
        f"terraform init failed: the provider registry.invalid/labrun/none is not in {mirror} "
        f"(LABRUN_PROVIDER_MIRROR): add it with `labrun providers mirror {mirror}` on a "
        "machine with internet access"
    ) in err


# --- `labrun list` and `labrun show`: which labs need providers that are not offline --------

IMPLICIT = """module "vpc" {
  source = "terraform-aws-modules/vpc/aws"
}

resource "random_pet" "name" {}
resource "terraform_data" "builtin" {}
"""


def test_list_and_show_say_which_labs_are_not_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    labs = tmp_path / "labs"
    make_lab(labs, "fake-provider", FAKE_PROVIDER)
    make_lab(labs, "learner-needs", BUILTIN_ONLY, starter=FAKE_PROVIDER)
    make_lab(labs, "implicit", IMPLICIT)
    make_lab(labs, "builtin-only", BUILTIN_ONLY)
    code, out, _ = labrun(capsys, "list", "--labs-dir", str(labs), "--json")
    listed = {lab["id"]: lab for lab in json.loads(out)["labs"]}
    assert code == 0
    fake = {"provider": "labrun-test/fake", "part": "terraform", "offline": False}
    assert listed["fake-provider"]["providers"] == [fake]
    assert listed["fake-provider"]["offline"] is False
    assert listed["learner-needs"]["providers"] == [{**fake, "part": "files"}]
    assert [p["provider"] for p in listed["implicit"]["providers"]] == ["hashicorp/random"]
    assert listed["builtin-only"]["providers"] == [] and listed["builtin-only"]["offline"]
    assert listed["docker-basics"]["offline"] and listed["docker-basics"]["providers"] == []

    monkeypatch.setenv("COLUMNS", "200")  # one table row a line
    code, out, _ = labrun(capsys, "list", "--labs-dir", str(labs))
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    assert "no: labrun-test/fake" in rows["fake-provider"] and "yes" in rows["builtin-only"]
    assert "labrun providers mirror DIR" in " ".join(out.split())

    code, out, _ = labrun(capsys, "show", "learner-needs", "--labs-dir", str(labs))
    said = " ".join(out.split())
    assert (
        "Terraform provider labrun-test/fake, for your own Terraform (labrun terraform): "
        "from the registry (not offline)"
    ) in said

    mirror = tmp_path / "mirror"
    write_mirror(mirror)
    monkeypatch.setenv("LABRUN_PROVIDER_MIRROR", str(mirror))
    code, out, _ = labrun(capsys, "show", "fake-provider", "--labs-dir", str(labs), "--json")
    shown = json.loads(out)
    assert shown["offline"] is True and shown["providers"] == [{**fake, "offline": True}]
    code, out, _ = labrun(capsys, "show", "fake-provider", "--labs-dir", str(labs))
    assert "labrun-test/fake, for the lab's Terraform: in the provider mirror" in " ".join(
        out.split()
    )
