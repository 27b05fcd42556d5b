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

The one place that leans on Django's compiler (its `select`, `klass_info` and converters, as
`ModelIterable` uses them): Django 5.2, held by tests/newsroom/test_prepared.py."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

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


class PreparedQuery:
    def __init__(self, build: Callable[..., models.QuerySet], **kinds: type):
        self.build, self.kinds = build, kinds
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
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.values == "flat":
            return [row[0] for row in plan.compiler.results_iter(results=[rows])]
        if plan.values == "tuples":
            return list(plan.compiler.results_iter(results=[rows], tuple_expected=True))
        objects = _materialise(plan.compiler, rows, alias)
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
        plan = _Plan(sql, tuple(slots), compiler, prefetch, values)
        self._plans[alias] = plan
        return plan


def _materialise(compiler, rows: list, alias: str) -> list:
    """Model instances from `rows`, as `ModelIterable` makes them (less what querysets of a
    related manager add)."""
    select, klass_info = compiler.select, compiler.klass_info
    model = klass_info["model"]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, alias)
    annotations = compiler.annotation_col_map
    objects = []
    for row in compiler.results_iter(results=[rows]):
        obj = model.from_db(alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in (annotations or {}).items():
            setattr(obj, name, row[position])
        objects.append(obj)
    return objects
