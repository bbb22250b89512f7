"""Hot-path statements compiled once per database dialect and run through the driver directly.

SQLAlchemy Core spends tens of microseconds per ``Connection.execute`` building its cache key and processing
parameters, and about twenty more per ``exec_driver_sql`` on its execution context, several times what SQLite
takes to run a one-row insert. The journal and the FIX session stores write several statements per order, so
their hot statements are Core statements compiled once per dialect and then executed on the connection's DB-API
cursor: inside the transaction the SQLAlchemy connection opened, with none of the per-call work. Driver errors
are raised as SQLAlchemy's exceptions (``IntegrityError`` and the rest), as ``Connection.execute`` would.
Parameters must be plain values the driver takes as they are (str, int, bytes, None).

A statement's rows are tuples of its parameters in an order the statement declares (``fields``): the writers
build them directly, and on a dialect whose driver takes positional parameters in that same order (SQLite) the
rows go to the driver untouched. A :class:`WriteBatch` holds statements already bound for one dialect, as plain
data (SQL text and parameter rows): it can run at once, or be appended to a write log first and run later
(:mod:`engine.storage.write_log`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeAlias

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

Params: TypeAlias = tuple[Any, ...]
"""One execution's parameters, in the order of the statement's ``fields``."""
BoundStatement: TypeAlias = tuple[str, list[Any]]
"""A statement bound for one dialect: its SQL text and one parameter row (tuple or dict) per execution."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    convert: Callable[[Params], Any] | None
    """A row as the driver takes it (reordered, or a dict of named parameters); None when it takes it as is."""


class DriverStatement:
    """A statement whose bound parameters are all named (``bindparam("name")`` or an insert's column names).

    ``statement`` is one Core statement, or a function building it for a dialect (for dialect-specific forms
    such as an upsert). ``fields`` names every bound parameter once, in the order the rows hold them.
    :meth:`execute` runs it once per row of ``rows`` (an executemany when there are several).
    """

    __slots__ = ("_by_dialect", "_statement", "fields")

    def __init__(self, statement: Executable | Callable[[Dialect], Executable], fields: Sequence[str]) -> None:
        self._statement = statement
        self.fields = tuple(fields)
        """The bound parameters' names, in the order of each row's values."""
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"a statement's fields must be distinct, got {self.fields}")
        self._by_dialect: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self._statement if isinstance(self._statement, Executable) else self._statement(dialect)
        result = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        names = tuple(result.positiontup or result.params)
        if sorted(names) != sorted(self.fields):
            raise ValueError(f"the statement binds {names}, its rows hold {self.fields}")
        compiled = _Compiled(result.string, _converter(self.fields, names, positional=bool(result.positional)))
        self._by_dialect[dialect.name] = compiled
        return compiled

    def bind(self, dialect: Dialect, rows: Iterable[Params]) -> BoundStatement:
        """The SQL for ``dialect`` and the driver's parameter rows for ``rows`` (tuples in ``fields`` order)."""
        compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
        convert = compiled.convert
        return compiled.sql, list(rows) if convert is None else list(map(convert, rows))

    def execute(self, conn: Connection, rows: Sequence[Params]) -> None:
        """Runs the statement for each row on ``conn``; nothing for no rows."""
        if rows:
            run_bound(conn, (self.bind(conn.dialect, rows),))


def _converter(fields: tuple[str, ...], names: tuple[str, ...], *, positional: bool) -> Callable[[Params], Any] | None:
    """What turns a row in ``fields`` order into the parameters of a statement compiled to bind ``names``."""
    if not positional:
        return lambda row: dict(zip(fields, row, strict=True))
    if names == fields:
        return None
    order = [fields.index(name) for name in names]
    if len(order) == 1:
        (only,) = order
        return lambda row: (row[only],)
    return itemgetter(*order)


class WriteBatch:
    """Statements bound for one dialect, in the order they must run (in one transaction)."""

    __slots__ = ("dialect", "statements")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.statements: list[BoundStatement] = []
        """What was added, bound: plain data a write log can hold."""

    def add(self, statement: DriverStatement, rows: Sequence[Params]) -> None:
        """Appends ``statement`` for ``rows`` (nothing for no rows)."""
        if rows:
            self.statements.append(statement.bind(self.dialect, rows))

    def run(self, conn: Connection) -> None:
        """Executes every statement on ``conn``, inside the transaction the caller opened."""
        run_bound(conn, self.statements)


def write_now(conn: Connection, fill: Callable[[WriteBatch], None]) -> None:
    """Has ``fill`` add its statements to a batch, then commits them on ``conn`` in one transaction (a writer
    outside any commit group)."""
    batch = WriteBatch(conn.dialect)
    fill(batch)
    with conn.begin():
        batch.run(conn)


def run_bound(conn: Connection, statements: Iterable[BoundStatement]) -> None:
    """Executes bound statements on the DB-API cursor of ``conn``, in order, raising SQLAlchemy's exceptions."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for sql, params in statements:
            try:
                if len(params) == 1:
                    cursor.execute(sql, params[0])
                else:
                    cursor.executemany(sql, params)
            except dbapi.Error as error:
                raise DBAPIError.instance(sql, params, error, dbapi.Error, dialect=conn.dialect) from error
    finally:
        cursor.close()
