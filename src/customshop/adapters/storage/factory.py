"""Choose the ``FileStorage`` adapter from ``CUSTOMSHOP_STORAGE_URL`` (contract §8)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from customshop.adapters.storage.local import LocalFileStorage
from customshop.adapters.storage.s3 import S3FileStorage
from customshop.application.ports import FileStorage

_S3_PARAMETERS = frozenset({"endpoint_url", "region"})


def storage_from_url(url: str | None, data_dir: Path) -> FileStorage:
    """The file storage that ``url`` names.

    * ``None``: local files under ``data_dir / "storage"`` (the embedded default).
    * ``file:///abs/path``: local files under ``/abs/path``; ``file://relative/path``: under
      ``relative/path`` of the current working directory. Percent-escapes are decoded.
    * ``s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1``: objects in
      ``bucket`` under ``prefix`` (optional), both query parameters optional. Credentials come from
      boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
      shared files, instance role), never from the URL.

    Nothing is contacted: a wrong bucket or endpoint shows on first use.

    Raises:
        ValueError: another scheme, or a URL of these schemes that is malformed; the message is one
            line, names the scheme, and never repeats the query's values or credentials.
    """
    if url is None:
        return LocalFileStorage(data_dir / "storage")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise ValueError(f"cannot parse the storage URL ({exc})") from None
    scheme = parts.scheme
    if scheme == "file":
        if parts.query or parts.fragment:
            raise ValueError("a file:// storage URL takes no query or fragment")
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError("a file:// storage URL needs a path: file:///abs/path or file://relative/path")
        return LocalFileStorage(Path(path))
    if scheme == "s3":
        return _s3_storage(parts.netloc, parts.username, parts.password, parts.path, parts.query)
    if not scheme:
        raise ValueError("the storage URL has no scheme: use file:// or s3://")
    raise ValueError(f"unsupported storage URL scheme {scheme!r}: use file:// or s3://")


def _s3_storage(
    netloc: str, username: str | None, password: str | None, path: str, query: str
) -> S3FileStorage:
    if username is not None or password is not None or "@" in netloc:
        raise ValueError("an s3:// storage URL carries no credentials: set the AWS_* environment variables")
    if not netloc:
        raise ValueError("an s3:// storage URL needs a bucket: s3://bucket/prefix")
    if ":" in netloc:
        raise ValueError("an s3:// storage URL names a bucket, not a host:port: use ?endpoint_url=")
    try:
        parameters = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError("an s3:// storage URL has a malformed query") from None
    unknown = sorted(set(parameters) - _S3_PARAMETERS)
    if unknown:
        raise ValueError(
            f"an s3:// storage URL takes only endpoint_url and region, not {', '.join(map(repr, unknown))}"
        )
    single: dict[str, str] = {}
    for name, values in parameters.items():
        if len(values) != 1 or not values[0]:
            raise ValueError(f"an s3:// storage URL needs exactly one non-empty {name}")
        single[name] = values[0]
    endpoint_url = single.get("endpoint_url")
    if endpoint_url is not None:
        endpoint = urlsplit(endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ValueError("the endpoint_url of an s3:// storage URL must be an http:// or https:// URL")
    try:
        return S3FileStorage(
            unquote(netloc), unquote(path).strip("/"), endpoint_url=endpoint_url, region=single.get("region")
        )
    except ValueError as exc:
        raise ValueError(f"an s3:// storage URL has a bad prefix: {exc}") from None
