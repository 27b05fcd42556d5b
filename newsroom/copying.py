"""Bulk inserts by PostgreSQL's COPY, for rows made in bulk (the importer's stories).

`bulk_create` is the right tool for most bulk inserts, but for a wide model it spends most of
its time compiling SQL: a table with a column Django cannot put in an array (a `tsvector`) is
inserted as one VALUES list of rows × columns placeholders, which Django builds field by field
and PostgreSQL then parses and plans. COPY streams the same rows as text and is parsed by the
server's COPY reader. What it inserts is what `bulk_create` would: every concrete field's value
as Django prepares it for saving (`pre_save` with `add`, so `auto_now` fields are set, then
`get_db_prep_save`), row triggers and constraints fire as for an INSERT, and the database's
errors come out as Django's `DatabaseError`s. Primary keys are drawn from the table's sequence
first (COPY returns nothing) and set on the instances.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from django.db import connections
from django.db.models import Model

NULL = r"\N"
COPY_CHUNK = 64 * 1024  # bytes the driver reads at a time


def copy_value(value) -> str:
    """A value in COPY's text format: `\\N` for NULL, and backslashes, tabs and line breaks
    escaped in text."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        if "\\" in value:
            value = value.replace("\\", "\\\\")
        if "\t" in value:
            value = value.replace("\t", "\\t")
        if "\n" in value:
            value = value.replace("\n", "\\n")
        if "\r" in value:
            value = value.replace("\r", "\\r")
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"COPY of a {type(value).__name__} is not supported here: {value!r}")


class _Lines(io.RawIOBase):
    """The rows as a file of COPY's lines in UTF-8, each made as the driver reads its way to
    it: a batch never sits in memory whole (a text buffer of it holds four bytes a character
    once one character is not Latin-1)."""

    def __init__(self, rows: Iterable[Sequence]):
        self._lines = ("\t".join(map(copy_value, row)) + "\n" for row in rows)
        self._left = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts, length = [self._left], len(self._left)
        while size < 0 or length < size:
            line = next(self._lines, None)
            if line is None:
                break
            parts.append(data := line.encode())
            length += len(data)
        data = b"".join(parts)
        cut = len(data) if size < 0 else size
        self._left = data[cut:]
        return data[:cut]


def copy_rows(
    table: str, columns: Sequence[str], rows: Iterable[Sequence], *, using: str = "default"
) -> None:
    """COPY `rows` (tuples of Python values, in the order of `columns`) into `table`."""
    connection = connections[using]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(sql, _Lines(rows), size=COPY_CHUNK)


def copy_insert(objs: list[Model], *, skip: Sequence[str] = (), using: str = "default") -> None:
    """Insert unsaved instances of one model, as `bulk_create(objs)` would, and set their primary
    keys. `skip`: columns left for the database to fill (a column a trigger computes)."""
    if not objs:
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise NotImplementedError("COPY is PostgreSQL's")
    meta = objs[0]._meta
    pk = meta.pk
    fields = [
        field
        for field in meta.concrete_fields
        if field is not pk and not field.generated and field.column not in skip
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    rows = []
    for obj, new_id in zip(objs, ids, strict=True):
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        row = [new_id]
        for field in fields:
            row.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
        rows.append(row)
    copy_rows(meta.db_table, [pk.column, *(f.column for f in fields)], rows, using=using)
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = using
