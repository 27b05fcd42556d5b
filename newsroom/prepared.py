"""Prepared querysets: a query's SQL made once per process and database, then run with new
values. On a story page Django spends more CPU turning querysets into SQL (`as_sql`: about
60% of a one-row query's time, measured) than fetching the rows; the public pages ask the same
few shapes of query all day with different ids, slugs and times.

`PreparedQuery(build, name=type, ...)` takes a function that builds the queryset from the named
values (int, str or datetime), and runs it as `query(name=value, ...)`, returning what
`list(build(...))` would: model instances with their `select_related` rows, deferred fields, then
`prefetch_related` lookups (or a `values_list`'s tuples, or a flat one's values), from the database
the router picks for a read, as a queryset would. It is compiled twice with different stand-in
values: every parameter that changes is one of the names (and takes its value on each call), every
other one is a constant of the query; a builder whose SQL or constants depend on anything else (the
clock read inside it, a list whose length varies) is refused when first run, with the reason.

On PostgreSQL each plan is also a server-side prepared statement (`PREPARE`, once per
connection), so the server does not parse and plan it again on every page either: planning
was most of a story page's database time. `NEWSROOM_PREPARED_STATEMENTS=0` turns that off,
for a pooler that hands one client several server connections (PgBouncer in transaction
mode): the statements live on the server connection that prepared them.

The one place that leans on Django's compiler (its `select`, `klass_info` and converters, as
`ModelIterable` uses them): Django 5.2, held by tests/newsroom/test_prepared.py."""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, models, router
from django.db.models.query import (
    FlatValuesListIterable,
    ValuesListIterable,
    get_related_populators,
)

_BASE = datetime.datetime(1901, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def _stand_in(kind: type, n: int):
    """A value of `kind` no real query holds: the `n`th."""
    if kind is int:
        return 31_000 + n  # within every integer field's range (a value out of it matches nothing)
    if kind is str:
        return f"\x1fstand-in-{n}"
    if kind is datetime.datetime:
        return _BASE + datetime.timedelta(seconds=n)
    if kind is list:  # of ints, passed whole (a PostgreSQL array in raw SQL, `= ANY(%s)`)
        return [31_000 + n]
    raise TypeError(
        f"a prepared query takes int, str, datetime or list values, not {kind.__name__}"
    )


@dataclass(frozen=True)
class _Plan:
    sql: str
    slots: tuple  # per parameter: (True, name) to take a value, (False, constant)
    compiler: object
    prefetch: tuple
    values: str  # "flat": a flat `values_list`'s first column; "tuples": a `values_list`'s rows
    statement: str  # the name it is prepared under on the server ("" when it is not)
    # The compiler's converters of the columns, worked out once: `results_iter` asks every
    # column's field and the backend for them again on each run (a hundred a story page).
    # None: a composite field, left to `results_iter`.
    converters: dict | None
    builders: tuple | None  # of instances (`_builders`), for a query of a model's rows

    def rows(self, rows: list):
        """The rows as the compiler's `results_iter` gives them, values converted."""
        if self.converters is None:
            return self.compiler.results_iter(results=[rows])
        return self.compiler.apply_converters(rows, self.converters) if self.converters else rows


class PreparedQuery:
    def __init__(self, build: Callable[..., models.QuerySet], *, planned_each_time=False, **kinds):
        """`planned_each_time`: not prepared on the server, whose plan for every value (its
        "generic plan") would be far worse for some than one made for the value (full-text
        search: how many stories a word matches decides the plan)."""
        self.build, self.kinds, self.planned_each_time = build, kinds, planned_each_time
        for kind in kinds.values():
            _stand_in(kind, 0)  # a kind it cannot take is refused at once
        self._plans: dict[str, _Plan] = {}

    def __call__(self, **values) -> list:
        if set(values) != set(self.kinds):
            raise TypeError(f"give exactly {', '.join(sorted(self.kinds))}")
        model = self.model
        alias = router.db_for_read(model)
        plan = self._plans.get(alias) or self._prepare(alias)
        connection = connections[alias]
        params = [self._adapt(connection, values[v]) if take else v for take, v in plan.slots]
        with connection.cursor() as cursor:
            if (
                plan.statement
                and settings.NEWSROOM_PREPARED_STATEMENTS
                and _prepared_on(connection, plan)
            ):
                cursor.execute(_execute_sql(plan.statement, len(params)), params)
            else:
                cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.values == "flat":
            return [row[0] for row in plan.rows(rows)]
        if plan.values == "tuples":
            return [tuple(row) for row in plan.rows(rows)]
        objects = _materialise(plan, rows, alias)
        if plan.prefetch and objects:
            models.prefetch_related_objects(objects, *plan.prefetch)
        return objects

    @property
    def model(self):
        model = getattr(self, "_model", None)
        if model is None:
            model = self._model = self.build(**self._values(1)).model
        return model

    def _values(self, n: int) -> dict:
        """Stand-ins for every name, each its own: the `n`th set."""
        return {
            name: _stand_in(kind, 100 * n + i) for i, (name, kind) in enumerate(self.kinds.items())
        }

    @staticmethod
    def _adapt(connection, value):
        if isinstance(value, datetime.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        return value

    def _prepare(self, alias: str) -> _Plan:
        connection = connections[alias]
        first, second = self._values(1), self._values(2)
        queryset = self.build(**first)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        sql_again, params_again = self.build(**second).query.get_compiler(using=alias).as_sql()
        if sql != sql_again or len(params) != len(params_again):
            raise ValueError("the query's SQL depends on something other than its values")
        values = {FlatValuesListIterable: "flat", ValuesListIterable: "tuples"}
        values = values.get(queryset._iterable_class, "")
        if compiler.has_extra_select or (compiler.klass_info is None and not values):
            raise ValueError("only querysets of model instances or value lists can be prepared")
        if values == "tuples" and list(queryset._fields) != [
            c[2] or c[0].target.attname for c in compiler.select
        ]:
            raise ValueError("a values_list's names must come in the order Django selects them")
        slots = []
        for one, two in zip(params, params_again, strict=True):
            if one == two:
                slots.append((False, one))
                continue
            names = [n for n in self.kinds if one == self._adapt(connection, first[n])]
            if not names or two != self._adapt(connection, second[names[0]]):
                raise ValueError(
                    f"a parameter ({one!r}) changes by itself: read inside the builder"
                )
            slots.append((True, names[0]))
        taken = {name for take, name in slots if take}
        if taken != set(self.kinds):
            raise ValueError(f"values the query does not use: {', '.join(set(self.kinds) - taken)}")
        prefetch = tuple(queryset._prefetch_related_lookups)
        server_side = connection.vendor == "postgresql" and not self.planned_each_time
        statement = f"newsroom_{hashlib.sha1(sql.encode()).hexdigest()[:16]}" if server_side else ""
        columns = [column[0] for column in compiler.select[: compiler.col_count]]
        converters = (
            None if compiler.has_composite_fields(columns) else compiler.get_converters(columns)
        )
        builders = None if values else _builders(compiler, alias)
        plan = _Plan(sql, tuple(slots), compiler, prefetch, values, statement, converters, builders)
        self._plans[alias] = plan
        return plan


_PLACEHOLDER = re.compile(r"%([s%])")


def _numbered(sql: str) -> str:
    """`sql`'s `%s` placeholders as PostgreSQL's `$1`, `$2`, …, for `PREPARE`."""
    numbers = iter(range(1, sql.count("%s") + 1))
    return _PLACEHOLDER.sub(lambda m: f"${next(numbers)}" if m[1] == "s" else "%", sql)


def _execute_sql(statement: str, count: int) -> str:
    return f"EXECUTE {statement}({', '.join(['%s'] * count)})" if count else f"EXECUTE {statement}"


_STATEMENTS: dict[str, str] = {}  # each prepared statement's name: its SQL


def statement_sql(name: str) -> str:
    """The SQL (with `$1`, `$2`, … for its values) of the statement prepared under `name`: what
    an `EXECUTE name(…)` in a query log runs."""
    return _STATEMENTS[name]


def _prepared_on(connection, plan: _Plan) -> bool:
    """Whether `plan` is prepared on `connection`'s server connection, preparing it if not
    (once: the connection's statements are known until it is replaced). Prepared outside the
    connection's query log and in a savepoint inside a transaction: a statement the server
    cannot prepare (a parameter whose type it cannot tell) runs unprepared instead, and breaks
    no transaction."""
    raw = connection.connection
    known = connection.__dict__.get("newsroom_prepared")
    if known is None or known[0] is not raw:
        known = connection.__dict__["newsroom_prepared"] = (raw, {})
    if plan.statement not in known[1]:
        known[1][plan.statement] = _prepare(raw, plan)
    return known[1][plan.statement]


def _prepare(raw, plan: _Plan) -> bool:
    import psycopg2  # the driver's own errors: this cursor is not Django's

    in_transaction = not raw.autocommit
    with raw.cursor() as cursor:
        if in_transaction:
            cursor.execute("SAVEPOINT newsroom_prepare")
        try:
            _STATEMENTS[plan.statement] = sql = _numbered(plan.sql)
            cursor.execute(f"PREPARE {plan.statement} AS {sql}")
        except psycopg2.Error as exc:
            if in_transaction:
                cursor.execute("ROLLBACK TO SAVEPOINT newsroom_prepare")
            # Already there: prepared by an earlier connection object on this server connection.
            prepared = isinstance(exc, psycopg2.errors.DuplicatePreparedStatement)
        else:
            prepared = True
        if in_transaction:
            cursor.execute("RELEASE SAVEPOINT newsroom_prepare")
    return prepared


def _materialise(plan: _Plan, rows: list, alias: str) -> list:
    """Model instances from `rows`, as `ModelIterable` makes them (less what querysets of a
    related manager add)."""
    model, start, end, init_list, populators, annotations = plan.builders
    objects = []
    for row in plan.rows(rows):
        obj = model.from_db(alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations:
            setattr(obj, name, row[position])
        objects.append(obj)
    return objects


def _builders(compiler, alias: str) -> tuple:
    """How a plan's rows become instances, worked out once: the model, its columns, the
    populators of the related instances it selects (they keep nothing of a row) and the
    annotations' positions."""
    select, klass_info = compiler.select, compiler.klass_info
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, alias)
    annotations = tuple((compiler.annotation_col_map or {}).items())
    return klass_info["model"], start, end, init_list, populators, annotations
