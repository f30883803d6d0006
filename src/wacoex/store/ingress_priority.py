"""SQLite has one write lock: webhook receipts get it before applying does, across processes.

The receipt writer holds a shared `flock` on a file beside the database while it waits for and holds
SQLite's write lock; an apply transaction probes for it between units of work and commits early when a
writer waits, and waits for the writers to finish before it begins again (SQLite's own busy handler is
not fair: a worker that commits and begins again at once could starve the writer for seconds).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from wacoex.store.engine import normalise_url


class IngressPriority:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    @classmethod
    def for_url(cls, url: str) -> IngressPriority | None:
        """The priority file of a SQLite database file; None for PostgreSQL (row locks, no queueing)."""
        url = normalise_url(url)
        if not url.startswith("sqlite"):
            return None
        path = url.split("///", 1)[-1]
        if not path or path == ":memory:":
            return None
        return cls(path + ".ingress-lock")

    def _fd(self) -> int:
        # One descriptor per thread: flock conflicts between descriptors, even within one process.
        fd: int | None = getattr(self._local, "fd", None)
        if fd is None:
            fd = self._local.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    @contextmanager
    def storing(self) -> Iterator[None]:
        """Held by the receipt writer around its transaction."""
        fd = self._fd()
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def waiting(self) -> bool:
        """True when a receipt writer waits for (or holds) the write lock: apply should commit now."""
        fd = self._fd()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def let_writers_first(self) -> None:
        """Before an apply transaction begins: returns once no receipt writer is storing."""
        fd = self._fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        fd = getattr(self._local, "fd", None)
        if fd is not None:
            os.close(fd)
            self._local.fd = None
