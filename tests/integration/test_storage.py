"""One contract for the ``FileStorage`` port, run against the local filesystem and against S3.

S3 is moto's standalone server, started once per session as a real subprocess on a free loopback
port and stopped at the end; the adapter reaches it over HTTP like any S3-compatible endpoint. The
dummy credentials are handed to boto3 explicitly, so ``os.environ`` is left alone.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from customshop.adapters.memory.storage import MemoryFileStorage
from customshop.adapters.storage import LocalFileStorage, S3FileStorage
from customshop.application.ports import FileMissing, FileStorage, StorageUnavailable

MOTO_SERVER = str(Path(sys.executable).with_name("moto_server"))
BUCKET = "customshop-test"
REGION = "us-east-1"
ACCESS_KEY_ID = SECRET_ACCESS_KEY = "testing"


@dataclass(frozen=True)
class MotoS3:
    """The running server: its address, a plain boto3 client to inspect it, and one adapter on it."""

    endpoint_url: str
    client: Any
    storage: S3FileStorage

    def empty_bucket(self) -> None:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})


def s3_storage(endpoint_url: str, prefix: str = "") -> S3FileStorage:
    return S3FileStorage(
        BUCKET,
        prefix,
        endpoint_url=endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"moto_server exited with {process.returncode}: {log.read_text()[-2000:]}", pytrace=False
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"moto_server did not listen on port {port} within {timeout} s", pytrace=False)


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """moto's S3 server on loopback with the test bucket created."""
    port = free_port()
    # werkzeug logs every request: to a file, since a pipe nobody reads would fill and stall the server.
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_listening(process, port, log, timeout=20)
        endpoint_url = f"http://127.0.0.1:{port}"
        client = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
        ).client("s3", endpoint_url=endpoint_url)
        client.create_bucket(Bucket=BUCKET)
        # One adapter for the session, as in production (making a boto3 client takes ~0.2 s).
        storage = s3_storage(endpoint_url, "shop/files")
        yield MotoS3(endpoint_url, client, storage)
        storage.close()
        client.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["memory", "local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> FileStorage:
    """An empty storage: the in-memory fake, a folder of the test's own, or the session's S3 adapter on
    an emptied bucket."""
    if request.param == "memory":
        return MemoryFileStorage()
    if request.param == "local":
        return LocalFileStorage(tmp_path / "storage")
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    moto.empty_bucket()
    return moto.storage


# --- the contract, on both adapters ---------------------------------------------------------------


async def test_binary_data_round_trips_unchanged(storage: FileStorage) -> None:
    data = bytes(range(256)) * 4 + b"\r\n\x00\x1a"
    await storage.put("assets/a1", data, "application/octet-stream")

    assert await storage.get("assets/a1") == data


async def test_a_5_mb_file_round_trips(storage: FileStorage) -> None:
    data = os.urandom(5 * 1024 * 1024)
    await storage.put("previews/big.png", data, "image/png")

    assert await storage.get("previews/big.png") == data


async def test_put_replaces_the_file_under_the_key(storage: FileStorage) -> None:
    await storage.put("assets/a1", b"the first, longer version", "text/plain")
    await storage.put("assets/a1", b"second", "text/plain")

    assert await storage.get("assets/a1") == b"second"


async def test_an_empty_file_is_a_file(storage: FileStorage) -> None:
    await storage.put("assets/empty", b"", "application/octet-stream")

    assert await storage.exists("assets/empty")
    assert await storage.get("assets/empty") == b""


async def test_get_of_a_missing_key_raises_file_missing(storage: FileStorage) -> None:
    with pytest.raises(FileMissing):
        await storage.get("assets/nothing-here")


async def test_exists_tells_stored_keys_from_missing_ones(storage: FileStorage) -> None:
    assert not await storage.exists("assets/a1")

    await storage.put("assets/a1", b"x", "text/plain")

    assert await storage.exists("assets/a1")
    assert not await storage.exists("assets/a2")


async def test_a_folder_of_keys_is_not_itself_a_file(storage: FileStorage) -> None:
    await storage.put("assets/2024/a1.png", b"x", "image/png")

    assert not await storage.exists("assets/2024")
    with pytest.raises(FileMissing):
        await storage.get("assets/2024")


async def test_keys_in_nested_folders_are_kept_apart(storage: FileStorage) -> None:
    files = {
        "a.png": b"top",
        "assets/a.png": b"one deep",
        "assets/s1/a.png": b"two deep",
        "assets/s1/v2/a.png": b"three deep",
        "assets/s2/a.png": b"sibling",
        "previews/d-9_x.Y.png": b"every allowed character",
    }
    for key, data in files.items():
        await storage.put(key, data, "image/png")

    for key, data in files.items():
        assert await storage.get(key) == data, key


INVALID_KEYS = [
    "../x",
    "/abs",
    "a//b",
    "a/../b",
    "",
    "a/./b",
    ".",
    "..",
    "a/",
    "a b",
    "a\\b",
    "é.png",
    "a\nb",
]


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_an_invalid_key_is_refused_before_anything_is_stored(storage: FileStorage, key: str) -> None:
    with pytest.raises(ValueError, match="storage key"):
        await storage.put(key, b"x", "text/plain")
    with pytest.raises(ValueError, match="storage key"):
        await storage.get(key)
    with pytest.raises(ValueError, match="storage key"):
        await storage.exists(key)


async def test_concurrent_puts_of_different_keys_all_land(storage: FileStorage) -> None:
    files = {f"assets/concurrent/{n:02d}": secrets.token_bytes(64 * 1024) for n in range(20)}

    await asyncio.gather(*(storage.put(key, data, "image/png") for key, data in files.items()))

    stored = await asyncio.gather(*(storage.get(key) for key in files))
    assert stored == list(files.values())


# --- S3 specifics ---------------------------------------------------------------------------------


async def test_s3_stores_the_content_type_under_the_prefix(moto_s3: MotoS3) -> None:
    await moto_s3.storage.put("previews/p1.png", b"\x89PNG", "image/png")

    head = moto_s3.client.head_object(Bucket=BUCKET, Key="shop/files/previews/p1.png")
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == 4


@pytest.mark.parametrize("operation", ["put", "get", "exists"])
async def test_s3_that_cannot_be_reached_raises_storage_unavailable_quickly(operation: str) -> None:
    closed = free_port()  # bound, read, released: nothing listens there now
    storage = s3_storage(f"http://127.0.0.1:{closed}")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "put": lambda: storage.put("assets/a1", b"x", "text/plain"),
        "get": lambda: storage.get("assets/a1"),
        "exists": lambda: storage.exists("assets/a1"),
    }
    started = time.monotonic()

    with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{closed}"):
        await calls[operation]()

    assert time.monotonic() - started < 5
    storage.close()


# --- local specifics ------------------------------------------------------------------------------


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


async def test_local_put_leaves_only_the_file_behind(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.put("assets/a1", b"one", "text/plain")
    await storage.put("assets/a1", b"two", "text/plain")

    assert files_under(tmp_path) == ["assets/a1"]


async def test_local_concurrent_puts_of_one_key_leave_one_whole_version(tmp_path: Path) -> None:
    # Local only: S3 guarantees this itself, and moto 5.2.5 answers 500 to same-key PUTs that race.
    storage = LocalFileStorage(tmp_path)
    versions = [bytes([n]) * 256 * 1024 for n in range(8)]

    await asyncio.gather(*(storage.put("assets/contested", data, "image/png") for data in versions))

    assert await storage.get("assets/contested") in versions
    assert files_under(tmp_path) == ["assets/contested"]


async def test_local_put_that_fails_midway_keeps_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.put("assets/a1", b"old contents", "text/plain")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageUnavailable, match="No space left"):
        await storage.put("assets/a1", b"new contents", "text/plain")
    monkeypatch.undo()

    assert await storage.get("assets/a1") == b"old contents"
    assert files_under(tmp_path) == ["assets/a1"]


async def test_local_keys_cannot_leave_the_root_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not yours")
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(outside, target_is_directory=True)
    storage = LocalFileStorage(root)

    with pytest.raises(ValueError, match="outside the storage root"):
        await storage.get("escape/secret")
    with pytest.raises(ValueError, match="outside the storage root"):
        await storage.put("escape/planted", b"x", "text/plain")
    assert sorted(path.name for path in outside.iterdir()) == ["secret"]


async def test_local_root_may_itself_be_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "disk").mkdir()
    (tmp_path / "root").symlink_to(tmp_path / "disk", target_is_directory=True)
    storage = LocalFileStorage(tmp_path / "root")

    await storage.put("assets/a1", b"x", "text/plain")

    assert (tmp_path / "disk" / "assets" / "a1").read_bytes() == b"x"


async def test_local_key_cannot_be_both_a_file_and_a_folder(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    await storage.put("assets/a1", b"file", "text/plain")
    await storage.put("previews/p1/full.png", b"file in folder", "image/png")

    with pytest.raises(ValueError, match="storage key"):
        await storage.put("assets/a1/thumb.png", b"x", "image/png")
    with pytest.raises(ValueError, match="storage key"):
        await storage.put("previews/p1", b"x", "image/png")
    assert await storage.get("assets/a1") == b"file"
