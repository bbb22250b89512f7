"""Recovery: orders and positions rebuilt from the journal equal those the engine held before it stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.enums import ExecType, OrderType, OrdStatus, Side
from core.events import ExecutionReport
from core.instruments import Instrument
from core.orders import Order
from core.portfolio import Portfolio
from engine.storage import Journal, RecoveryError, open_database, recover
from engine.storage.journal import trailing_number

from . import VenueReports, new_order

INSTRUMENTS = {symbol: Instrument(symbol=symbol) for symbol in ("AAPL", "MSFT")}


class LiveEngine:
    """What the engine does with each event: journal it, then apply it to its orders and portfolio."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.orders: dict[str, Order] = {}
        self.portfolio = Portfolio(INSTRUMENTS)

    def submit(self, order: Order) -> VenueReports:
        self.journal.record_order(order)
        self.orders[order.order_id] = order
        return VenueReports(order)

    def execute(self, *reports: ExecutionReport) -> ExecutionReport:
        """Journals and applies ``reports`` (fills booked, busts taken out); returns the last."""
        for report in reports:
            assert self.journal.record_execution(report)
            self.orders[report.order_id].apply(report)
            self.portfolio.book(report)
        return reports[-1]


def trade_a_session(live: LiveEngine) -> None:
    canceled = live.submit(new_order("O-000001", quantity=100))
    replaced = live.submit(new_order("O-000002", side=Side.SELL, quantity=200, price=1_910_000))
    rejected = live.submit(new_order("O-000003", quantity=5))
    market = live.submit(new_order("O-000004", instrument="MSFT", order_type=OrderType.MARKET, price=None))
    working = live.submit(new_order("O-000005", quantity=300, price=1_880_000))
    live.execute(canceled.ack(), replaced.ack(), working.ack())
    live.execute(canceled.fill(30, fee=15), canceled.fill(20, price=1_899_900, fee=10))
    live.execute(*replaced.replace(150, 1_905_000))
    live.execute(rejected.report(ExecType.REJECTED, OrdStatus.REJECTED, reason="price band"))
    live.execute(market.fill(60, price=4_200_500, fee=30), market.fill(40, price=4_200_700, fee=20))
    live.execute(replaced.fill(100, fee=-20), *canceled.cancel(), replaced.fill(50, price=1_905_100, fee=-10))
    live.execute(working.fill(120, fee=60))


def test_recovery_rebuilds_every_order_and_position(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    before = open_database(url)
    live = LiveEngine(Journal(before))
    trade_a_session(live)
    before.dispose()  # the process stops; only the database remains

    after = open_database(url)
    with Journal(after) as journal:
        state = recover(journal, INSTRUMENTS)
    after.dispose()

    assert state.problems == ()
    assert state.orders == live.orders
    statuses = {order_id: order.status for order_id, order in state.orders.items()}
    assert statuses == {
        "O-000001": OrdStatus.CANCELED,
        "O-000002": OrdStatus.FILLED,
        "O-000003": OrdStatus.REJECTED,
        "O-000004": OrdStatus.FILLED,
        "O-000005": OrdStatus.PARTIALLY_FILLED,
    }
    assert (state.orders["O-000002"].quantity, state.orders["O-000002"].price) == (150, 1_905_000)
    assert state.orders["O-000001"].cum_qty == 50
    assert [order.order_id for order in state.open_orders] == ["O-000005"]

    aapl = state.portfolio.position("main", "AAPL")
    live_aapl = live.portfolio.position("main", "AAPL")
    assert (aapl.quantity, aapl.cost, aapl.realized, aapl.fees) == (
        live_aapl.quantity,
        live_aapl.cost,
        live_aapl.realized,
        live_aapl.fees,
    )
    assert aapl.quantity == 50 + 120 - 150
    msft = state.portfolio.position("main", "MSFT")
    assert (msft.quantity, msft.cost, msft.fees) == (100, 60 * 4_200_500 + 40 * 4_200_700, 50)
    assert state.portfolio.pnl("main") == live.portfolio.pnl("main")


def test_recovery_reports_the_highest_ids_in_use() -> None:
    database = open_database("sqlite://")
    with Journal(database) as journal:
        trade_a_session(LiveEngine(journal))
        reports = [item for item in journal.replay() if isinstance(item, ExecutionReport)]
        state = recover(journal, INSTRUMENTS)
    database.dispose()
    assert state.max_order_seq == 5
    assert state.max_client_order_seq == 5
    assert state.max_exec_seq == max(trailing_number(report.exec_id) for report in reports) == 5
    assert state.reports == len(reports)


def test_trailing_numbers_of_ids() -> None:
    assert trailing_number("O-000042") == 42
    assert trailing_number("SIM-7-19") == 19
    assert trailing_number("abc") == 0


def test_a_report_that_cannot_be_applied_is_listed_and_its_fill_still_booked() -> None:
    database = open_database("sqlite://")
    order = new_order("O-1", quantity=10)
    venue = VenueReports(order)
    stray = VenueReports(new_order("O-9", quantity=10))
    with Journal(database) as journal:
        journal.record_order(order)
        journal.record_execution(venue.ack())
        journal.record_execution(venue.report(ExecType.PENDING_NEW, OrdStatus.PENDING_NEW))
        journal.record_execution(stray.fill(4))
        state = recover(journal, INSTRUMENTS)
    database.dispose()
    assert len(state.problems) == 2
    assert "illegal order transition NEW -> PENDING_NEW" in state.problems[0]
    assert "O-9" in state.problems[1]
    assert "never journaled" in state.problems[1]
    assert state.orders["O-1"].status is OrdStatus.NEW
    assert state.portfolio.position("main", "AAPL").quantity == 4


def test_fills_in_an_instrument_no_longer_configured_stop_recovery() -> None:
    database = open_database("sqlite://")
    order = new_order("O-1", instrument="TSLA")
    with Journal(database) as journal:
        journal.record_order(order)
        journal.record_execution(VenueReports(order).fill(10, price=2_500_000))
        with pytest.raises(RecoveryError, match=r"'TSLA'.*AAPL, MSFT"):
            recover(journal, INSTRUMENTS)
    database.dispose()


def test_an_empty_journal_recovers_to_nothing() -> None:
    database = open_database("sqlite://")
    with Journal(database) as journal:
        state = recover(journal, INSTRUMENTS)
    database.dispose()
    assert state.orders == {}
    assert list(state.portfolio.positions()) == []
    assert (state.max_order_seq, state.max_exec_seq, state.reports) == (0, 0, 0)
