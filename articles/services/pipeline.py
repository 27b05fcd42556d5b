"""Big imports as a pipeline, so that parsing, preparing and inserting overlap on a machine's
cores:

    worker processes: read + parse batch n+3   (`read_ahead`)
    this thread:      look up + prepare batch n+2
    writer threads:   insert batches n and n+1  (`write_behind`, each its own connection)

Results still come out in file order, each batch still commits as a whole and each file stays
all-or-nothing; batches written side by side never share a story (a batch waits for the one
inserting a story it has too) nor a new address (each is told the others' slugs). Only a few
batches are in memory however many files there are.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Protocol, TypeVar

from django.db import connection, transaction

Item = TypeVar("Item")
Result = TypeVar("Result")


class Prepared(Protocol[Result]):
    """A batch ready for the writer: results so far, and the identities and addresses of the
    stories it will insert (fixed when it is made; the writer empties its queue as it goes)."""

    results: list[Result | None]
    keys: frozenset[str]
    slugs: frozenset[str]


def read_ahead(
    path_batches: Iterable[list], *, read: Callable[[list], list], workers: int
) -> Iterator[list]:
    """`read(batch)` for each batch, in order, run in `workers` processes up to `workers`
    batches ahead of the one being consumed."""
    # "spawn": a forked child would share this process's database connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        ahead: deque[Future] = deque()
        for batch in path_batches:
            ahead.append(pool.submit(read, batch))
            if len(ahead) > workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def can_write_behind() -> bool:
    """A second writer needs a transaction of its own and a database that takes two writers:
    not inside a caller's transaction (a dry run), not on SQLite."""
    return not connection.in_atomic_block and connection.vendor != "sqlite"


def write_behind(
    item_batches: Iterable[list[Item]],
    *,
    keys_of: Callable[[list[Item]], set[str]],
    prepare: Callable[[list[Item], frozenset[str]], Prepared],
    write: Callable[[Prepared], None],
    writers: int = 1,
) -> Iterator:
    """Prepare each batch here (`prepare(items, slugs_being_inserted)`, in a transaction) while
    up to `writers` threads run `write(batch)` for the previous ones, each in a transaction of
    its own, and yield every batch's results, in order, once it is written."""
    pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="import-writer")
    flying: deque[tuple[Future, Prepared]] = deque()
    try:
        for items in item_batches:
            keys = keys_of(items)
            for future, earlier in flying:
                if keys & earlier.keys:
                    future.result()  # a story of this batch is being inserted: let it land first
            taken = frozenset().union(*(b.slugs for f, b in flying if not f.done()))
            with transaction.atomic():
                batch = prepare(items, taken)
            while len(flying) >= writers:
                future, done = flying.popleft()
                future.result()
                yield from done.results
            flying.append((pool.submit(_in_transaction, write, batch), batch))
        while flying:
            future, done = flying.popleft()
            future.result()
            yield from done.results
    finally:
        every = threading.Barrier(writers)  # one close for each thread's own connection
        for closed in [pool.submit(_close_connection, every) for _ in range(writers)]:
            closed.result()
        pool.shutdown()


def _close_connection(every: threading.Barrier) -> None:
    every.wait(timeout=60)  # each of the pool's threads takes one
    connection.close()  # `connection` is per thread: this closes the calling thread's


def _in_transaction(write: Callable[[Prepared], None], batch: Prepared) -> None:
    with transaction.atomic():
        write(batch)
