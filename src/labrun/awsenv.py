"""The user's AWS settings: the one pass-through environment, and the one region resolver.

Both follow the AWS SDKs: the region is AWS_REGION, else AWS_DEFAULT_REGION, else the
`region` of the profile in the AWS config file (a region set only in the profile, as SSO
setups do, counts). What a session's tools get from the user's shell is `passthrough`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# Where and as whom: never a secret, so a session may record them.
AWS_SETTINGS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
)  # fmt: skip
# Secrets: passed to the tools a command runs, never stored, logged or printed in JSON.
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
AWS_PASSTHROUGH = AWS_SETTINGS + CREDENTIALS
DEFAULT_CONFIG_FILE = "~/.aws/config"


def passthrough(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The AWS variables of `environ` (this process's environment by default) that are set."""
    source = os.environ if environ is None else environ
    return {key: source[key] for key in AWS_PASSTHROUGH if source.get(key)}


def without_credentials(env: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in CREDENTIALS}


def profile_name(env: Mapping[str, str]) -> str | None:
    """The named profile, in botocore's order (AWS_DEFAULT_PROFILE, then AWS_PROFILE)."""
    return env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE") or None


def config_file(env: Mapping[str, str]) -> Path:
    return Path(env.get("AWS_CONFIG_FILE") or DEFAULT_CONFIG_FILE).expanduser()


def resolve_region(env: Mapping[str, str]) -> str | None:
    """The region `env` points at: its variables first, then its profile's setting."""
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(key):
            return env[key]
    return profile_region(env)


def profile_region(env: Mapping[str, str]) -> str | None:
    """The `region` of `env`'s profile (else `default`) in its AWS config file."""
    from botocore.configloader import load_config
    from botocore.exceptions import BotoCoreError

    try:
        profiles = load_config(str(config_file(env))).get("profiles", {})
    except BotoCoreError:  # no config file, or one botocore cannot read: no region from it
        return None
    region = (profiles.get(profile_name(env) or "default") or {}).get("region")
    return region if isinstance(region, str) and region else None


def overlay(environ: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """`environ` (a process's) with `env` (a session's) over it. When `env` says where AWS
    is, it says it whole: an AWS setting of `environ` it leaves out (an endpoint, a
    profile, a service's own endpoint) is dropped, never mixed in. Credentials stay."""
    if not any(key in env for key in AWS_SETTINGS):
        return {**environ, **env}
    kept = {
        key: value
        for key, value in environ.items()
        if not (key in AWS_SETTINGS or key.startswith("AWS_ENDPOINT_URL_"))
    }
    return {**kept, **env}


FILES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
# The process environment is shared by threads (the reaper tears sessions down several at
# once): the blocks that set the files there run one at a time.
_FILES_LOCK = threading.RLock()


@contextmanager
def files_of(env: Mapping[str, str]) -> Iterator[None]:
    """botocore reads where the config and credentials files are from the process
    environment only: for the block, this process uses `env`'s (a session's recorded ones,
    which the scheduled reaper's environment lacks). One block at a time per process."""
    with _FILES_LOCK:
        saved = {key: os.environ.get(key) for key in FILES}
        os.environ.update({key: env[key] for key in FILES if env.get(key)})
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
