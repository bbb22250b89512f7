"""The desktop's state, settings and workspace files, without a window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.commands import SubmitOrder
from core.enums import ExecType, OrderType, OrdStatus, Side
from core.events import BookUpdate, CancelReject, ExecutionReport, PositionUpdate, RiskEvent, RiskEventKind, TradeTick
from core.instruments import Instrument
from engine.client.protocol import SessionInfo
from workstation.settings import DesktopPaths, DesktopSettings, SettingsError, load_settings, save_settings
from workstation.state import DesktopState
from workstation.workspaces import Workspace, WorkspaceError, WorkspaceStore

ACME = Instrument(symbol="ACME", tick_size=100, price_scale=4, lot_size=1, currency="USD")


def _state() -> DesktopState:
    return DesktopState(SessionInfo(user="t", endpoint="test", instruments=(ACME,), accounts=("main",)))


def _book(sequence: int, rows: list[tuple[int, int, int]], bid: int | None, ask: int | None) -> BookUpdate:
    return BookUpdate(
        instrument="ACME", ts_ns=sequence, sequence=sequence, deltas=np.array(rows, dtype=np.int64).reshape(-1, 3),
        best_bid=bid, best_bid_qty=0, best_ask=ask, best_ask_qty=0,
    )  # fmt: skip


def _report(cid: str, status: OrdStatus, exec_type: ExecType, **extra: object) -> ExecutionReport:
    fields: dict[str, object] = {
        "exec_id": f"{cid}-{status.name}-{extra.get('cum_qty', 0)}", "order_id": "O1", "client_order_id": cid,
        "account": "main", "instrument": "ACME", "side": Side.BUY, "order_type": OrderType.LIMIT,
        "exec_type": exec_type, "ord_status": status, "quantity": 10, "price": 1_000_000, "cum_qty": 0,
        "leaves_qty": 10, "ts_ns": 5,
    }  # fmt: skip
    fields.update(extra)
    return ExecutionReport(**fields)  # type: ignore[arg-type]


def test_a_snapshot_then_only_newer_updates_build_the_book() -> None:
    state = _state()
    market = state.market("ACME")
    market.on_book(_book(5, [(0, 990_000, 100), (1, 1_010_000, 200)], 990_000, 1_010_000), snapshot=True)
    state.on_event(_book(4, [(0, 990_000, 0)], None, 1_010_000))  # older than the snapshot: ignored
    state.on_event(_book(6, [(0, 1_000_000, 50)], 1_000_000, 1_010_000))

    assert market.best_bid() == (1_000_000, 50)
    assert market.book.depth(5).price_levels() == (((1_000_000, 50), (990_000, 100)), ((1_010_000, 200),))
    assert market.mid() == 1_005_000


def test_trades_build_volume_at_price_and_the_change_reference() -> None:
    state = _state()
    for i, (price, qty, side) in enumerate([(1_000_000, 10, Side.BUY), (1_000_100, 5, Side.SELL)]):
        state.on_event(TradeTick(instrument="ACME", ts_ns=i, price=price, quantity=qty, aggressor=side, match_id=i))
    market = state.market("ACME")

    assert (market.last_price, market.last_qty, market.volume) == (1_000_100, 5, 15)
    assert market.reference_price == 1_000_000
    assert market.buy_volume_at[1_000_000] == 10
    assert market.sell_volume_at[1_000_100] == 5
    _, prices, signed = market.trades.since(0)
    assert prices.tolist() == [1_000_000, 1_000_100]
    assert signed.tolist() == [10, -5]


def test_an_order_goes_pending_working_filled_and_its_fill_is_kept_once() -> None:
    state = _state()
    request = SubmitOrder(client_order_id="c1", account="main", instrument="ACME", side=Side.BUY, quantity=10,
                          price=1_000_000)  # fmt: skip
    state.orders.add_pending(request, 1)
    assert [w.status for w in state.orders.working("ACME")] == [OrdStatus.PENDING_NEW]

    state.on_event(_report("c1", OrdStatus.NEW, ExecType.NEW))
    fill = _report("c1", OrdStatus.FILLED, ExecType.TRADE, cum_qty=10, leaves_qty=0, last_qty=10,
                   last_price=1_000_000, fee=7)  # fmt: skip
    state.on_event(fill)
    state.executions.apply(fill)  # the same fill again (snapshot after stream): kept once

    row = state.orders.row_of("c1")
    assert row is not None
    assert state.orders.status(row) is OrdStatus.FILLED
    assert state.orders.average_price(row) == (10_000_000, 10)
    assert state.orders.working("ACME") == []
    assert len(state.executions) == 1


def test_a_refused_cancel_returns_the_order_to_working_and_is_logged() -> None:
    state = _state()
    state.on_event(_report("c1", OrdStatus.NEW, ExecType.NEW))
    state.orders.mark("c1", OrdStatus.PENDING_CANCEL)

    state.on_event(CancelReject(client_order_id="c1", order_id="O1", account="main", ts_ns=9, reason="too late"))

    row = state.orders.row_of("c1")
    assert row is not None
    assert state.orders.status(row) is OrdStatus.NEW
    assert state.last_rejects["c1"] == "too late"
    assert "cancel c1 refused: too late" in state.audit.entries[-1].message


def test_positions_are_marked_to_the_desktop_book() -> None:
    state = _state()
    state.on_event(PositionUpdate(account="main", instrument="ACME", ts_ns=1, quantity=10, cost=10_000_000,
                                  realized=0, unrealized=0, fees=3))  # fmt: skip
    state.market("ACME").on_book(_book(1, [(0, 1_010_000, 1), (1, 1_010_200, 1)], 1_010_000, 1_010_200), snapshot=True)

    (position,) = state.positions.positions()
    realized, unrealized, fees = state.positions.totals()
    assert position.quantity == 10
    assert unrealized == (1_010_100 * 10 - 10_000_000) * 10_000  # money units of 1e-8 at price scale 4
    assert fees == 3
    state.positions.sample_equity(100)
    times, equity = state.positions.equity_curve()
    assert times.tolist() == [100]
    assert equity.tolist() == [realized + unrealized - fees]


def test_the_kill_switch_shows_engaged_while_any_switch_the_session_sees_is() -> None:
    info = SessionInfo(user="t", endpoint="test", instruments=(ACME,), accounts=("main",), kill_switches={"main": "x"})
    state = DesktopState(info)
    assert state.kill_switch_engaged  # engaged before the desktop connected

    def switch(kind: RiskEventKind, account: str | None) -> RiskEvent:
        return RiskEvent(ts_ns=1, kind=kind, check="kill_switch", reason="halt", account=account)

    state.on_event(switch(RiskEventKind.KILL_SWITCH, None))
    state.on_event(switch(RiskEventKind.RELEASE, "main"))
    assert state.kill_switch_engaged  # the global one still is
    state.on_event(switch(RiskEventKind.RELEASE, None))
    assert not state.kill_switch_engaged


def test_settings_round_trip_and_a_bad_file_leaves_the_defaults_and_the_file(tmp_path: Path) -> None:
    paths = DesktopPaths(tmp_path)
    settings = DesktopSettings(default_quantity=25, quick_quantities=(1, 2), theme="light")
    save_settings(paths, settings)
    assert load_settings(paths) == (settings, None)

    paths.settings_file.write_text('{"default_quantity": "lots"}', encoding="utf-8")
    loaded, problem = load_settings(paths)
    assert loaded == DesktopSettings()
    assert problem is not None
    assert "default_quantity must be int" in problem
    assert paths.settings_file.read_text(encoding="utf-8") == '{"default_quantity": "lots"}'
    with pytest.raises(SettingsError, match="unknown setting"):
        DesktopSettings.from_mapping({"colour": "red"}, "f")


def test_workspaces_round_trip_and_refuse_bad_files_and_names(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path)
    workspace = Workspace(name="morning", window_state=b"\x00\x01", geometry=b"\x02", panels={"a": {"visible": False}})
    store.save(workspace)

    assert store.names() == ["morning"]
    assert store.last_used() == "morning"
    assert store.load("morning") == workspace
    (tmp_path / "broken.json").write_text(json.dumps({"name": "broken"}), encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"broken\.json: not a workspace file"):
        store.load("broken")
    with pytest.raises(WorkspaceError, match="use letters"):
        store.save(Workspace(name="../escape", window_state=b"", geometry=b""))
