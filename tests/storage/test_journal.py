"""The execution journal: round trip, idempotency, the orders and positions tables, batch mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select

from core.enums import ExecType, Liquidity, OrderType, OrdStatus, Side
from core.events import ExecutionReport
from core.instruments import Instrument
from core.orders import Order
from core.portfolio import Portfolio
from engine.storage import DuplicateOrder, Journal, StorageError, open_database
from engine.storage.models import Base, JournalEntry, OrderRow, PositionRow

from . import VenueReports, new_order

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FILL = st.integers(min_value=0, max_value=2**31)
"""Fill quantities and prices: their product (an order's filled cost) stays within 64 bits."""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    database = open_database(f"sqlite:///{tmp_path / 'journal.db'}")
    yield database
    database.dispose()


ORDER_FIELDS = (
    "order_id",
    "client_order_id",
    "account",
    "instrument",
    "side",
    "order_type",
    "time_in_force",
    "quantity",
    "price",
    "strategy_id",
    "created_ns",
    "venue",
    "reason",
)
"""Fields of a new order its journal entry stores under their own name."""


def journal_size(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one())


def order_row(engine: Engine, order_id: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(OrderRow.__table__).where(OrderRow.order_id == order_id)).one()
    return row


def a_session() -> list[Order | ExecutionReport]:
    """Two orders whose reports interleave: an ack, partial fills, a replace and a cancel."""
    first, second = new_order("O-1"), new_order("O-2", side=Side.SELL, price=1_901_000)
    a, b = VenueReports(first), VenueReports(second)
    return [
        first,
        a.ack(),
        second,
        b.ack(),
        a.fill(30, fee=12),
        *b.replace(150, 1_900_500),
        a.fill(20, price=1_899_900),
        b.fill(150, price=1_900_500, fee=-7),
        *a.cancel(),
    ]


def write(journal: Journal, items: list[Order | ExecutionReport]) -> None:
    for item in items:
        if isinstance(item, Order):
            journal.record_order(item)
        else:
            assert journal.record_execution(item) is True


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "batched"])
def test_replay_returns_what_was_recorded_in_order(engine: Engine, durable: bool) -> None:
    session = a_session()
    with Journal(engine, durable=durable, batch_size=4) as journal:
        write(journal, session)
    with Journal(engine) as reopened:
        assert list(reopened.replay()) == session


def test_a_replayed_order_is_the_pending_new_order_as_created(engine: Engine) -> None:
    order = new_order("O-7", order_type=OrderType.MARKET, price=None, ts_ns=123)
    order.venue = "SIM"
    with Journal(engine) as journal:
        journal.record_order(order)
        (replayed,) = journal.replay()
    assert replayed == order
    assert isinstance(replayed, Order)
    assert replayed.status is OrdStatus.PENDING_NEW


def test_a_duplicate_exec_id_is_ignored_even_after_reopening(engine: Engine) -> None:
    order = new_order("O-1")
    venue = VenueReports(order)
    ack, fill = venue.ack(), venue.fill(40)
    with Journal(engine) as journal:
        journal.record_order(order)
        assert journal.record_execution(ack) is True
        assert journal.record_execution(fill) is True
        assert journal.record_execution(fill) is False
    with Journal(engine) as reopened:
        assert reopened.record_execution(fill) is False
        assert list(reopened.replay()) == [order, ack, fill]
    assert order_row(engine, "O-1").cum_qty == 40


def test_a_batch_journal_ignores_duplicates_in_its_buffer_and_in_the_database(engine: Engine) -> None:
    order = new_order("O-1")
    venue = VenueReports(order)
    ack, fill = venue.ack(), venue.fill(10)
    with Journal(engine) as durable:
        durable.record_order(order)
        durable.record_execution(ack)
    with Journal(engine, durable=False) as batch:
        assert batch.record_execution(ack) is False
        assert batch.record_execution(fill) is True
        assert batch.record_execution(fill) is False
        with pytest.raises(DuplicateOrder):
            batch.record_order(new_order("O-1", client_order_id="other"))
    assert journal_size(engine) == 3


def test_an_order_recorded_twice_is_refused_and_nothing_is_written(engine: Engine) -> None:
    with Journal(engine) as journal:
        journal.record_order(new_order("O-1", client_order_id="abc"))
        with pytest.raises(DuplicateOrder, match="O-1"):
            journal.record_order(new_order("O-1", client_order_id="xyz"))
        with pytest.raises(DuplicateOrder, match="abc"):
            journal.record_order(new_order("O-2", client_order_id="abc"))
    assert journal_size(engine) == 1


def test_only_a_new_order_can_be_recorded(engine: Engine) -> None:
    order = new_order("O-1")
    order.apply(VenueReports(order).ack())
    with Journal(engine) as journal, pytest.raises(ValueError, match="PendingNew"):
        journal.record_order(order)


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "batched"])
def test_the_orders_table_holds_each_orders_latest_state(engine: Engine, durable: bool) -> None:
    with Journal(engine, durable=durable, batch_size=3) as journal:
        write(journal, a_session())
    canceled, filled = order_row(engine, "O-1"), order_row(engine, "O-2")
    assert (canceled.status, canceled.cum_qty, canceled.leaves_qty) == (OrdStatus.CANCELED.value, 50, 0)
    assert canceled.filled_cost == 30 * 1_900_000 + 20 * 1_899_900
    assert canceled.reason == "canceled by user"
    assert canceled.venue == "SIM"
    assert (filled.status, filled.quantity, filled.price) == (OrdStatus.FILLED.value, 150, 1_900_500)
    assert filled.side == Side.SELL.value
    assert filled.created_ns == 1_000
    assert filled.updated_ns > filled.created_ns


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def test_each_column_of_an_orders_row_holds_the_order_attribute_of_its_name(tmp_path: Path, engine: Engine) -> None:
    """Durable, batched, and batched again for orders a journal did not write: the orders row is the order's
    state after the same reports."""
    orders = [new_order(f"O-{n}", client_order_id=f"c-{n}", side=Side.SELL, price=1_901_000) for n in range(3)]
    orders[1].strategy_id = None
    venues = [VenueReports(order) for order in orders]

    def report(index: int, item: ExecutionReport) -> ExecutionReport:
        orders[index].apply(item)
        return item

    with Journal(engine) as durable:
        durable.record_order(orders[0])
        durable.record_execution(report(0, venues[0].ack()))
        durable.record_execution(report(0, venues[0].fill(30, fee=4)))
    with Journal(engine, durable=False, batch_size=2) as batched:
        batched.record_order(orders[1])
        batched.record_order(orders[2])
        batched.record_execution(report(1, venues[1].ack()))
        batched.record_execution(report(2, venues[2].ack()))  # the batch is written: later reports update rows
        for item in venues[1].replace(150, 1_900_500):
            batched.record_execution(report(1, item))
        batched.record_execution(report(2, venues[2].fill(100, price=1_900_900)))
    with Journal(engine, durable=False) as reopened:
        reopened.record_execution(report(0, venues[0].fill(20)))
        for item in venues[1].cancel():
            reopened.record_execution(report(1, item))
    for order in orders:
        row = order_row(engine, order.order_id)._mapping
        assert dict(row) == {name: _stored(getattr(order, name)) for name in row}


def test_an_orders_journal_entry_holds_what_it_was_created_with_and_no_execution(engine: Engine) -> None:
    order = new_order("O-1", order_type=OrderType.MARKET, price=None, ts_ns=55)
    with Journal(engine) as journal:
        journal.record_order(order)
    with engine.connect() as conn:
        entry = conn.execute(select(JournalEntry.__table__)).one()._mapping
    assert {name: value for name, value in entry.items() if name != "seq"} == {
        **{name: _stored(getattr(order, name)) for name in ORDER_FIELDS},
        "kind": "order",
        "ts_ns": 55,
        "ord_status": OrdStatus.PENDING_NEW.value,
        "exec_id": None,
        "exec_type": None,
        "cum_qty": 0,
        "leaves_qty": 100,
        "last_qty": 0,
        "last_price": None,
        "fee": 0,
        "liquidity": None,
        "ref_exec_id": "",
    }


def test_a_reports_journal_entry_holds_every_field_of_the_report(engine: Engine) -> None:
    order = new_order("O-1")
    fill = VenueReports(order).fill(40, fee=-3)
    with Journal(engine) as journal:
        journal.record_execution(fill)
    with engine.connect() as conn:
        entry = conn.execute(select(JournalEntry.__table__)).one()._mapping
    expected = {field.name: _stored(getattr(fill, field.name)) for field in fields(ExecutionReport)}
    assert {name: value for name, value in entry.items() if name != "seq"} == {
        **expected,
        "kind": "exec",
        "time_in_force": None,
        "created_ns": None,
    }


def test_a_journal_writes_the_same_rows_through_a_driver_taking_named_parameters(tmp_path: Path) -> None:
    """Rows are built in the order SQLite binds them; a driver taking named parameters gets them by name."""
    tables: list[dict[str, list[Any]]] = []
    for paramstyle in ("qmark", "named"):
        database = create_engine(f"sqlite:///{tmp_path / paramstyle}.db", paramstyle=paramstyle)
        Base.metadata.create_all(database)
        portfolio = Portfolio({"AAPL": Instrument(symbol="AAPL")})
        portfolio.apply_fill("main", "AAPL", Side.BUY, 5, 1_900_000, 1)
        with Journal(database) as durable:
            write(durable, a_session()[:4])
        with Journal(database, durable=False) as batched:
            write(batched, a_session()[4:])
            batched.record_positions(portfolio.positions(), ts_ns=3)
        with database.connect() as conn:
            tables.append(
                {
                    model.__tablename__: sorted(conn.execute(select(model.__table__)).all())
                    for model in (JournalEntry, OrderRow, PositionRow)
                }
            )
        database.dispose()
    qmark, named = tables
    assert qmark == named
    assert [len(rows) for rows in qmark.values()] == [len(a_session()), 2, 1]


def test_a_batch_journal_writes_once_a_batch_is_full(engine: Engine) -> None:
    order = new_order("O-1", quantity=1_000)
    venue = VenueReports(order)
    journal = Journal(engine, durable=False, batch_size=5)
    journal.record_order(order)
    for _ in range(3):
        journal.record_execution(venue.fill(1))
    assert journal_size(engine) == 0
    journal.record_execution(venue.fill(1))
    assert journal_size(engine) == 5
    journal.record_execution(venue.fill(1))
    journal.close()
    assert journal_size(engine) == 6
    assert order_row(engine, "O-1").cum_qty == 5


def test_position_snapshots_keep_the_latest_per_account_and_instrument(engine: Engine) -> None:
    aapl, msft = Instrument(symbol="AAPL"), Instrument(symbol="MSFT")
    portfolio = Portfolio({"AAPL": aapl, "MSFT": msft})
    portfolio.apply_fill("main", "AAPL", Side.BUY, 100, 1_900_000, 50)
    portfolio.apply_fill("main", "MSFT", Side.SELL, 10, 4_200_000, 5)
    with Journal(engine) as journal:
        journal.record_positions(portfolio.positions(), ts_ns=1)
        portfolio.apply_fill("main", "AAPL", Side.SELL, 40, 1_910_000, 20)
        journal.record_positions([portfolio.position("main", "AAPL")], ts_ns=2)
    with engine.connect() as conn:
        rows = {row.instrument: row for row in conn.execute(select(PositionRow.__table__))}
    assert (rows["AAPL"].quantity, rows["AAPL"].cost, rows["AAPL"].updated_ns) == (60, 60 * 1_900_000, 2)
    assert rows["AAPL"].realized == 40 * 10_000 * 10**4
    assert rows["AAPL"].fees == 70
    assert (rows["MSFT"].quantity, rows["MSFT"].cost, rows["MSFT"].updated_ns) == (-10, -42_000_000, 1)


def test_a_batch_journal_writes_position_snapshots_on_flush(engine: Engine) -> None:
    portfolio = Portfolio({"AAPL": Instrument(symbol="AAPL")})
    portfolio.apply_fill("main", "AAPL", Side.BUY, 5, 1_900_000, 0)
    journal = Journal(engine, durable=False)
    journal.record_positions(portfolio.positions(), ts_ns=9)
    with engine.connect() as conn:
        assert conn.execute(select(PositionRow.__table__)).all() == []
    journal.flush()
    with engine.connect() as conn:
        assert conn.execute(select(PositionRow.quantity)).scalar_one() == 5
    journal.close()


def test_a_closed_journal_refuses_to_write(engine: Engine) -> None:
    journal = Journal(engine)
    journal.close()
    journal.close()
    with pytest.raises(StorageError, match="closed"):
        journal.record_order(new_order("O-1"))


reports = st.builds(
    ExecutionReport,
    exec_id=st.text(min_size=1, max_size=40),
    order_id=st.text(max_size=20),
    client_order_id=st.text(max_size=20),
    account=st.text(max_size=10),
    instrument=st.text(max_size=10),
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    exec_type=st.sampled_from(ExecType),
    ord_status=st.sampled_from(OrdStatus),
    quantity=INT64,
    price=st.none() | INT64,
    cum_qty=INT64,
    leaves_qty=INT64,
    ts_ns=INT64,
    last_qty=FILL,
    last_price=st.none() | FILL,
    fee=INT64,
    liquidity=st.sampled_from(Liquidity),
    reason=st.text(max_size=60),
    venue=st.text(max_size=10),
    strategy_id=st.none() | st.text(max_size=10),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(reports, max_size=8, unique_by=lambda report: report.exec_id))
def test_any_execution_report_comes_back_equal(batch: list[ExecutionReport]) -> None:
    database = open_database("sqlite://")
    try:
        with Journal(database) as journal:
            assert all(journal.record_execution(report) for report in batch)
            assert list(journal.replay()) == batch
    finally:
        database.dispose()
