"""Query logs read as SQL: on PostgreSQL the public pages' queries run as prepared statements
(`newsroom.prepared`), logged as `EXECUTE name(values)`; `plain` gives the SQL they ran."""

import re

from newsroom.prepared import statement_sql

EXECUTE = re.compile(r"EXECUTE (\w+)(?:\((.*)\))?", re.DOTALL)
# One value as psycopg2 writes it: a quoted string (perhaps cast), an array, or a bare word.
VALUE = re.compile(r"\s*('(?:[^']|'')*'(?:::[\w ]+)?|ARRAY\[[^\]]*\](?:::[\w\[\]]+)?|[^,]+)\s*,?")


def plain(sql: str) -> str:
    """`sql`, or, for an `EXECUTE` of a prepared statement, the statement's SQL with its
    values in place."""
    found = EXECUTE.fullmatch(sql.strip())
    if not found:
        return sql
    values = [m[1] for m in VALUE.finditer(found[2] or "")]
    return re.sub(r"\$(\d+)", lambda m: values[int(m[1]) - 1], statement_sql(found[1]))
