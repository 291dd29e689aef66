"""Database access for async code: a few worker threads, each keeping its own connection between
calls (as Django's request threads do), so that a coroutine never blocks its event loop on the
ORM and a waiting coroutine holds neither a thread nor a connection while it waits.

The MCP endpoint and the async waiting views run every read and write through `database()`.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections


class DatabaseThreads:
    SIZE = 8

    def __init__(self):
        self.executor = ThreadPoolExecutor(self.SIZE, thread_name_prefix="async-database")

    async def run(self, function, *args, **kwargs):
        def unit():
            close_old_connections()  # one that broke or outlived its lifetime
            try:
                return function(*args, **kwargs)
            finally:
                close_old_connections()

        return await asyncio.get_running_loop().run_in_executor(self.executor, unit)

    def close(self):
        # Every thread must close its own connection: the barrier holds each thread at one task
        # until all SIZE threads have one, so none takes two and every one runs.
        barrier = threading.Barrier(self.SIZE)

        def close_here():
            barrier.wait(timeout=30)
            connections.close_all()

        for future in [self.executor.submit(close_here) for _ in range(self.SIZE)]:
            future.result()
        self.executor.shutdown()


_threads = None
_threads_lock = threading.Lock()


async def database(function, *args, **kwargs):
    """Run `function` in one of the database threads, never on the event loop."""
    global _threads
    if _threads is None:
        with _threads_lock:
            if _threads is None:
                _threads = DatabaseThreads()
    return await _threads.run(function, *args, **kwargs)


def close_database():
    """When the server stops: close the threads' connections (blocks until they are closed)."""
    global _threads
    with _threads_lock:
        threads, _threads = _threads, None
    if threads is not None:
        threads.close()
