"""``FileStorage`` adapters: local files and S3, chosen by ``storage_from_url``."""

from customshop.adapters.storage.factory import storage_from_url
from customshop.adapters.storage.keys import check_key
from customshop.adapters.storage.local import LocalFileStorage
from customshop.adapters.storage.s3 import S3FileStorage

__all__ = ["LocalFileStorage", "S3FileStorage", "check_key", "storage_from_url"]
