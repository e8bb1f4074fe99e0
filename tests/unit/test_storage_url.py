"""``storage_from_url``: which adapter each ``CUSTOMSHOP_STORAGE_URL`` names (contract §8).

Nothing is contacted: making an ``S3FileStorage`` only builds a boto3 client.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from customshop.adapters.storage import LocalFileStorage, S3FileStorage, storage_from_url


def test_no_url_means_local_files_under_the_data_dir(tmp_path: Path) -> None:
    storage = storage_from_url(None, tmp_path / "var")

    assert isinstance(storage, LocalFileStorage)
    assert storage.root == tmp_path.resolve() / "var" / "storage"


def test_an_absolute_file_url(tmp_path: Path) -> None:
    storage = storage_from_url(f"file://{tmp_path}/files", tmp_path / "var")

    assert isinstance(storage, LocalFileStorage)
    assert storage.root == tmp_path.resolve() / "files"


@pytest.mark.parametrize(("url", "folder"), [("file://files", "files"), ("file://var/files", "var/files")])
def test_a_relative_file_url_is_relative_to_the_working_directory(
    url: str, folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    storage = storage_from_url(url, Path("elsewhere"))

    assert isinstance(storage, LocalFileStorage)
    assert storage.root == tmp_path.resolve() / folder


def test_a_file_url_is_percent_decoded(tmp_path: Path) -> None:
    storage = storage_from_url(f"file://{tmp_path}/my%20files", tmp_path)

    assert isinstance(storage, LocalFileStorage)
    assert storage.root == tmp_path.resolve() / "my files"


def test_an_s3_url_with_prefix_endpoint_and_region(tmp_path: Path) -> None:
    url = "s3://shop-files/prod/customshop/?endpoint_url=http://127.0.0.1:9000&region=eu-west-3"

    storage = storage_from_url(url, tmp_path)

    assert isinstance(storage, S3FileStorage)
    assert (storage.bucket, storage.prefix) == ("shop-files", "prod/customshop")
    assert (storage.endpoint_url, storage.region) == ("http://127.0.0.1:9000", "eu-west-3")
    assert storage.object_key("assets/a1") == "prod/customshop/assets/a1"
    storage.close()


def test_an_s3_url_of_a_bare_bucket(tmp_path: Path) -> None:
    storage = storage_from_url("s3://shop-files", tmp_path)

    assert isinstance(storage, S3FileStorage)
    assert (storage.bucket, storage.prefix, storage.endpoint_url) == ("shop-files", "", None)
    assert storage.object_key("assets/a1") == "assets/a1"
    storage.close()


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("ftp://files.example.com/x", "'ftp'"),
        ("redis://127.0.0.1:6379/0", "'redis'"),
        ("https://bucket.s3.amazonaws.com", "'https'"),
        ("relative/path", "no scheme"),
        ("", "no scheme"),
        ("file://", "file://"),
        ("file:///srv/files?mode=x", "file://"),
        ("s3://", "s3://"),
        ("s3:///prefix", "s3://"),
        ("s3://127.0.0.1:9000/bucket", "s3://"),
        ("s3://bucket?endpoint=http://x", "s3://"),
        ("s3://bucket?region=a&region=b", "s3://"),
        ("s3://bucket?region=", "s3://"),
        ("s3://bucket?endpoint_url=127.0.0.1:9000", "s3://"),
        ("s3://bucket/../up", "s3://"),
        ("s3://bucket/a//b", "s3://"),
    ],
)
def test_other_urls_are_refused_in_one_line_naming_the_scheme(url: str, names: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="storage URL") as raised:
        storage_from_url(url, tmp_path)

    message = str(raised.value)
    assert names in message
    assert "\n" not in message


def test_credentials_in_an_s3_url_are_refused_without_being_repeated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AWS_\\* environment") as raised:
        storage_from_url("s3://AKIAEXAMPLE:hunter2@shop-files/prod", tmp_path)

    assert "hunter2" not in str(raised.value)
    assert "AKIAEXAMPLE" not in str(raised.value)
