"""Big imports as a pipeline, so that parsing, preparing and inserting overlap on a machine's
cores:

    worker processes: read + parse batch n+2   (`read_ahead`)
    this thread:      look up + prepare batch n+1
    writer thread:    insert batch n            (`write_behind`, its own database connection)

Results still come out in file order, each batch still commits as a whole and each file stays
all-or-nothing. Only a few batches are in memory however many files there are.
"""

from __future__ import annotations

import multiprocessing
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
) -> Iterator:
    """Prepare each batch here (`prepare(items, slugs_being_inserted)`, in a transaction) while
    a writer thread runs `write(batch)` for the previous one in a transaction of its own, and
    yield every batch's results once it is written."""
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
    flying: tuple[Future, Prepared] | None = None
    try:
        for items in item_batches:
            if flying and keys_of(items) & flying[1].keys:
                flying[0].result()  # a story of this batch is being inserted: let it land first
            taken = flying[1].slugs if flying and not flying[0].done() else frozenset()
            with transaction.atomic():
                batch = prepare(items, taken)
            if flying:
                flying[0].result()
                yield from flying[1].results
            flying = (writer.submit(_in_transaction, write, batch), batch)
        if flying:
            flying[0].result()
            yield from flying[1].results
    finally:
        writer.submit(_close_connection).result()
        writer.shutdown()


def _close_connection() -> None:
    connection.close()  # `connection` is per thread: this closes the calling thread's


def _in_transaction(write: Callable[[Prepared], None], batch: Prepared) -> None:
    with transaction.atomic():
        write(batch)
