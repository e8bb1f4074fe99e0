"""A dependency that cannot be reached now: the base every outage error derives from."""

from __future__ import annotations

from typing import ClassVar


class Unavailable(Exception):
    """A backend the operation needs cannot be reached; trying again later may succeed.

    ``dependency`` names the backend the way a client may be told ("the database"); the message is
    for the operator's log and may carry what the driver said (addresses, error codes), which
    clients never see.
    """

    dependency: ClassVar[str] = "a service this request needs"


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached, or did not answer in time (it is down, restarting, out of
    connections, or locked by another writer for longer than the configured wait)."""

    dependency = "the database"
