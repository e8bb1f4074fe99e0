"""Files in an S3 bucket (AWS, or any S3-compatible store through ``endpoint_url``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from customshop.adapters.storage.keys import check_key
from customshop.application.ports import FileMissing, StorageUnavailable

P = ParamSpec("P")
R = TypeVar("R")


class S3FileStorage:
    """Implements ``FileStorage`` as objects ``<prefix>/<key>`` in one bucket.

    Contract:
        * Keys follow ``check_key`` (the same rule as the local adapter); a key that breaks it raises
          ``ValueError`` before any request.
        * ``put`` is one ``PutObject``: atomic on S3, the content type stored with the object, any
          object under the key replaced (last writer wins).
        * ``get`` raises ``FileMissing`` on ``NoSuchKey``; ``exists`` is a ``HeadObject`` and answers
          ``False`` on 404 (which HEAD also answers for a missing bucket: check the bucket at start-up).
        * Network failures (refused, timed out, reset, TLS) and 5xx answers that outlast the retries
          raise ``StorageUnavailable``. Timeouts are short and retries few, so an outage is reported
          within a few seconds rather than stalling requests. Other S3 errors (access denied, no
          such bucket, no credentials) are misconfiguration and propagate as botocore raises them.

    boto3 is synchronous: each call runs in a worker thread on the one client made here (boto3
    clients are thread-safe; the session, which is not, is used only in the constructor). The
    caller owns the storage and calls ``close`` on shutdown.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        max_attempts: int = 2,
    ) -> None:
        """Use ``bucket`` under ``prefix`` (``""`` for the bucket's root).

        Args:
            bucket: The bucket, which must exist.
            prefix: Folder of every key, without leading or trailing ``/``; follows ``check_key``.
            endpoint_url: An S3-compatible server (MinIO, moto, R2...); AWS when ``None``.
            region: The signing region; boto3's default (``AWS_DEFAULT_REGION``, config) when ``None``.
            access_key_id: With ``secret_access_key`` (and ``session_token``): explicit credentials.
                When ``None``, boto3's chain: environment variables, shared files, instance role.
            secret_access_key: See ``access_key_id``.
            session_token: See ``access_key_id``.
            connect_timeout: Seconds to open a connection.
            read_timeout: Seconds to wait for each read from the socket (not for a whole transfer).
            max_attempts: Attempts per request in all, the first one included.

        Raises:
            ValueError: ``bucket`` is empty or ``prefix`` breaks the key rule.
        """
        if not bucket:
            raise ValueError("S3 bucket name is empty")
        prefix = prefix.strip("/")
        if prefix:
            check_key(prefix)
        self._bucket = bucket
        self._prefix = prefix
        self._endpoint_url = endpoint_url
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            # One connection per worker thread that may call at once (the default executor has <= 32).
            max_pool_connections=32,
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            region_name=region,
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def prefix(self) -> str:
        """The folder of every key, ``""`` for none; never with a leading or trailing ``/``."""
        return self._prefix

    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint_url

    @property
    def region(self) -> str | None:
        """The region the client signs for (boto3's default when none was given)."""
        region: str | None = self._client.meta.region_name
        return region

    def object_key(self, key: str) -> str:
        """The S3 object key that holds ``key``.

        Raises:
            ValueError: ``key`` breaks the key rule.
        """
        check_key(key)
        return f"{self._prefix}/{key}" if self._prefix else key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` with ``content_type``, replacing any object there.

        Raises:
            StorageUnavailable: S3 cannot be reached.
        """
        await self._call(
            self._client.put_object,
            Bucket=self._bucket,
            Key=self.object_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        """The bytes stored under ``key``.

        Raises:
            FileMissing: nothing is stored under the key.
            StorageUnavailable: S3 cannot be reached.
        """
        try:
            return await self._call(self._read, self.object_key(key))
        except ClientError as exc:
            if _error_code(exc) == "NoSuchKey":
                raise FileMissing(key) from None
            raise

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``.

        Raises:
            StorageUnavailable: S3 cannot be reached.
        """
        try:
            await self._call(self._client.head_object, Bucket=self._bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    def close(self) -> None:
        """Close the client's pooled connections."""
        self._client.close()

    def _read(self, object_key: str) -> bytes:
        # The body streams: read it in this worker thread too, and give the connection back.
        body = self._client.get_object(Bucket=self._bucket, Key=object_key)["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    async def _call(self, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking boto3 call in a worker thread, turning outages into ``StorageUnavailable``."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except (BotoConnectionError, HTTPClientError) as exc:
            raise self._unavailable(exc) from exc
        except ClientError as exc:
            if _status(exc) >= 500:
                raise self._unavailable(exc) from exc
            raise

    def _unavailable(self, exc: Exception) -> StorageUnavailable:
        where = self._endpoint_url or "AWS"
        return StorageUnavailable(f"S3 bucket {self._bucket!r} at {where} cannot be reached: {exc}")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
