"""Hot-path statements compiled once per database dialect and run through the driver directly.

SQLAlchemy Core spends tens of microseconds per ``Connection.execute`` building its cache key and processing
parameters, and about twenty more per ``exec_driver_sql`` on its execution context, several times what SQLite
takes to run a one-row insert. The journal and the FIX session stores write several statements per order, so
their hot statements are Core statements compiled once per dialect and then executed on the connection's DB-API
cursor: inside the transaction the SQLAlchemy connection opened, with none of the per-call work. Driver errors
are raised as SQLAlchemy's exceptions (``IntegrityError`` and the rest), as ``Connection.execute`` would.
Parameters must be plain values the driver takes as they are (str, int, bytes, None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool


class DriverStatement:
    """A statement whose bound parameters are all named (``bindparam("name")`` or an insert's column names).

    :meth:`execute` runs it once per row of ``rows`` (an executemany when there are several).
    """

    __slots__ = ("_by_dialect", "_statement")

    def __init__(self, statement: Executable) -> None:
        self._statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            result = self._statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            names = tuple(result.positiontup or result.params)
            compiled = _Compiled(result.string, names, bool(result.positional))
            self._by_dialect[dialect.name] = compiled
        return compiled

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Runs the statement for each row (each a mapping holding every bound name); nothing for no rows."""
        if not rows:
            return
        compiled = self._compiled(conn)
        names = compiled.names
        params: list[Any]
        if compiled.positional:
            params = [tuple([row[name] for name in names]) for row in rows]
        else:
            params = [{name: row[name] for name in names} for row in rows]
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if len(params) == 1:
                cursor.execute(compiled.sql, params[0])
            else:
                cursor.executemany(compiled.sql, params)
        except dbapi.Error as error:
            raise DBAPIError.instance(compiled.sql, params, error, dbapi.Error, dialect=conn.dialect) from error
        finally:
            cursor.close()
