"""Terraform's error text, explained in one line.

`terraform init` and `terraform providers mirror` have no JSON output: their errors are an
"Error: SUMMARY" line followed by a paragraph. These functions read that text and say, in one
line, which provider could not be installed from where, and what to do about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_DETAIL = 200  # characters of Terraform's explanation kept in a one-line message
MIRROR_FIX = (
    "fill a provider mirror with `labrun providers mirror DIR` on a machine with internet "
    "access, then set LABRUN_PROVIDER_MIRROR=DIR on this one"
)
_ERROR = re.compile(r"^(?:│\s*)?Error: (.+)$")
_UNREACHABLE = re.compile(r"could not connect to ([^\s:]+)")
_PROVIDER = re.compile(r"(?:for provider|Failed to download)\s+(\S+?)(?::|\s|$)")
_NOT_IN_MIRROR = re.compile(r"provider (\S+) was not found in any of the search locations")


def text_errors(lines: Iterable[str]) -> list[str]:
    """Each "Error: SUMMARY" of Terraform's text output, with its explanation:
    `SUMMARY: FIRST PARAGRAPH`."""
    found: list[str] = []
    lines = list(lines)
    for index, line in enumerate(lines):
        if error := _ERROR.match(line.rstrip("\n")):
            found.append(f"{error[1].strip()}: {_paragraph(lines, index + 1)}".rstrip(": "))
    return found


def _paragraph(lines: list[str], start: int) -> str:
    """The explanation Terraform prints under an "Error:" line: its first paragraph."""
    words: list[str] = []
    for line in lines[start:]:
        text = line.strip().lstrip("│").strip()
        if text.startswith("╵") or (not text and words):
            break
        words.extend(text.split())
    return " ".join(words)


def first_error(errors: list[str], code: int) -> str:
    """The provider and the registry it could not reach, when that is the problem, else the
    first error, shortened (e.g. `kreuzwerker/docker: could not connect to
    registry.terraform.io`)."""
    if not errors:
        return f"terraform exited with {code} and printed no error"
    text = errors[0]
    unreachable = _UNREACHABLE.search(text)
    if unreachable:
        return f"{_provider_prefix(text)}could not connect to {unreachable[1]}"
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def explain_install(errors: list[str], mirror: str | None) -> str | None:
    """One line for an init that could not install its providers, naming each provider,
    where it was looked for, and the fix; None when that was not the problem."""
    unreachable = [e for e in errors if _UNREACHABLE.search(e)]
    if unreachable:
        names = [_provider_prefix(e).removesuffix(": ") for e in unreachable]
        registry = _UNREACHABLE.search(unreachable[0])[1]  # type: ignore[index]
        return (
            f"could not download {_the_providers(names)} from {registry} (no access to the "
            f"provider registry?): {MIRROR_FIX}"
        )
    missing = [m[1] for e in errors if (m := _NOT_IN_MIRROR.search(e))]
    if missing:
        names = [p.removeprefix("registry.terraform.io/") for p in missing]
        where = mirror or "the provider mirror"
        verb = "is" if len(set(names)) == 1 else "are"
        return (
            f"{_the_providers(names)} {verb} not in {where} (LABRUN_PROVIDER_MIRROR): add "
            f"{'it' if verb == 'is' else 'them'} with `labrun providers mirror {where}` on a "
            "machine with internet access"
        )
    return None


def _the_providers(names: list[str]) -> str:
    """`the provider a/b`, `the providers a/b, c/d`."""
    unique = list(dict.fromkeys(n for n in names if n)) or ["(unnamed)"]
    return f"the provider{'s' if len(unique) > 1 else ''} {', '.join(unique)}"


def _provider_prefix(text: str) -> str:
    named = _PROVIDER.search(text)
    return named[1].removeprefix("registry.terraform.io/") + ": " if named else ""
