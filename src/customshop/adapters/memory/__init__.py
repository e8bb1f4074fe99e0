"""In-memory implementations of every port: the fakes of unit tests, first-class and contract-tested."""

from customshop.adapters.memory.cache import MemoryCache
from customshop.adapters.memory.clock import ManualClock
from customshop.adapters.memory.uow import MemoryStore, MemoryUnitOfWork

__all__ = ["ManualClock", "MemoryCache", "MemoryStore", "MemoryUnitOfWork"]
