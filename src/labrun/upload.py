"""Where grade reports travel: an S3 prefix or a folder (a classroom's shared drive).

`labrun grade --upload URL` puts a session's reports under ``URL/<owner>/<lab>/<session>/``
and `labrun class report URL` reads them all back. A location is named by its URL:

- ``s3://bucket/prefix``: written and read through boto3 with the user's own AWS settings
  (profile, region, ``AWS_ENDPOINT_URL``...), as the AWS CLI would use them;
- anything else without a scheme: a folder (created on upload).

Locations are a closed registry by scheme (LOCATIONS); both kinds offer the same three
operations, so the class report never knows where the files are.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from labrun.errors import BadInput, LabrunError

SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
S3_READERS = 16  # concurrent GETs: reading a class's reports is many small requests


class LocationError(LabrunError):
    """A location could not be written or read: one line says why (no credentials in it)."""


class Location(Protocol):
    """A place that holds report files under relative keys (``owner/lab/session/report.json``)."""

    url: str

    def put(self, key: str, path: Path) -> None: ...

    def files(self) -> Iterator[str]: ...

    def read_many(self, keys: list[str]) -> Iterator[tuple[str, bytes | Exception]]: ...


class FolderLocation:
    """A folder on this machine (or a mounted shared drive)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.root = Path(url).expanduser()

    def put(self, key: str, path: Path) -> None:
        target = self.root / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        except OSError as exc:
            raise LocationError(f"{target}: {exc.strerror or exc}") from None

    def files(self) -> Iterator[str]:
        if not self.root.is_dir():
            raise LocationError(f"{self.url}: no such folder")
        # os.walk, not Path.rglob: a class hands in thousands of files, and this is 3x faster.
        for folder, subfolders, names in os.walk(self.root):
            subfolders.sort()
            relative = os.path.relpath(folder, self.root).replace(os.sep, "/")
            for name in sorted(names):
                yield name if relative == "." else f"{relative}/{name}"

    def read_many(self, keys: list[str]) -> Iterator[tuple[str, bytes | Exception]]:
        for key in keys:
            try:
                yield key, (self.root / key).read_bytes()
            except OSError as exc:
                yield key, exc


class S3Location:
    """``s3://bucket/prefix`` through boto3, with the user's own AWS settings."""

    def __init__(self, url: str) -> None:
        self.url = url
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise BadInput(f"{url}: name a bucket (s3://bucket/prefix)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only when S3 is used: `labrun grade` stays light without --upload

            self._client = boto3.session.Session().client("s3")
        return self._client

    def put(self, key: str, path: Path) -> None:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._call(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=path.read_bytes(),
            ContentType=content_type,
        )

    def files(self) -> Iterator[str]:
        pages = self._call(
            lambda: list(
                self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=self.prefix
                )
            )
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"].removeprefix(self.prefix)

    def read_many(self, keys: list[str]) -> Iterator[tuple[str, bytes | Exception]]:
        with ThreadPoolExecutor(max_workers=S3_READERS) as pool:
            yield from zip(keys, pool.map(self._get, keys), strict=True)

    def _get(self, key: str) -> bytes | Exception:
        try:
            body: bytes = self._call(
                self.client.get_object, Bucket=self.bucket, Key=self.prefix + key
            )["Body"].read()
        except LocationError as exc:
            return exc
        return body

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        """Run one S3 call; AWS's and the network's errors become one LocationError line."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "error"), error.get("Message", "")
            raise LocationError(f"{self.url}: {code}: {message}".rstrip(": ")) from None
        except BotoCoreError as exc:
            raise LocationError(f"{self.url}: {exc}") from None


LOCATIONS: dict[str, Callable[[str], Location]] = {"s3": S3Location}


def location(url: str) -> Location:
    """The location ``url`` names: ``s3://bucket/prefix``, or a folder path."""
    if not url.strip():
        raise BadInput("the location is empty: give s3://bucket/prefix or a folder")
    match = SCHEME_RE.match(url)
    if match is None:
        return FolderLocation(url)
    scheme = match.group(1).lower()
    if scheme not in LOCATIONS:
        known = ", ".join(f"{s}://" for s in LOCATIONS)
        raise BadInput(f"{url}: {scheme}:// is not supported (use {known} or a folder path)")
    return LOCATIONS[scheme](url)


def session_prefix(owner: str, lab: str, session: str) -> str:
    """Where one session's reports go under a location: ``owner/lab/session/``."""
    return f"{owner}/{lab}/{session}/"


def upload(files: Iterable[Path], url: str, owner: str, lab: str, session: str) -> str:
    """Put ``files`` under ``url/owner/lab/session/``; the URL of that folder."""
    where = location(url)
    prefix = session_prefix(owner, lab, session)
    for path in files:
        where.put(prefix + path.name, path)
    return url.rstrip("/") + "/" + prefix
