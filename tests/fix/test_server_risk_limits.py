"""Risk limits changed over FIX while the engine runs (UH answered by UG, others told with an unsolicited UG)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.fix import control
from engine.fix.app_codec import FixAppError
from engine.fix.message import FixMessage
from engine.plugins import PluginRegistry
from tests.fix.test_control import wire
from tests.fix.test_server_harness import FixClient, Running, make_users, open_config, order, price_text, run, serving

RISK = {"max_order_quantity": {"limit": 1_000}, "order_rate": {"max_orders": 100, "window_ms": 1_000}}


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_users(
        tmp_path_factory.mktemp("users") / "users.toml",
        {
            "alice": {"accounts": ["main"]},
            "carol": {"accounts": ["main", "X"]},
            "dave": {"accounts": ["X"]},
            "viewer": {"accounts": ["*"], "read_only": True},
            "root": {"accounts": ["*"]},
        },
    )


async def _client(running: Running, name: str) -> FixClient:
    client = FixClient(name)
    await client.connect(running.host, running.port)
    assert (await client.logon()).msg_type == "A"
    return client


def _set(request_id: str, *rows: str) -> str:
    """A UH body: ``rows`` as ``account/check/param/type/value``."""
    body = f"5100={request_id}|5150={len(rows)}"
    for row in rows:
        account, check, param, kind, value = row.split("/")
        body += f"|1={account}|5151={check}|5107={param}|5108={kind}|5109={value}"
    return body


def _limits(message: FixMessage) -> dict[tuple[str, str, str], str]:
    """(account, check, param) -> value text of a UG."""
    accounts, checks = message.values(1), message.values(5151)
    names, values = message.values(5107), message.values(5109)
    assert len(accounts) == len(checks) == len(names) == len(values)
    return {
        (a.decode(), c.decode(), n.decode()): v.decode()
        for a, c, n, v in zip(accounts, checks, names, values, strict=True)
    }


async def _ask(running: Running) -> int:
    for _ in range(100):
        ask = running.runtime.market.snapshot("AAPL").best_ask
        if ask is not None:
            return ask
        await asyncio.sleep(0.05)
    raise AssertionError("no AAPL book")


def test_a_tightened_limit_rejects_the_next_order_above_it_and_every_viewer_is_told(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        config = open_config(accounts=("main", "X"), risk=RISK)
        async with serving(registry, tmp_path, users_file, config=config) as running:
            alice, carol, dave, viewer = [await _client(running, name) for name in ("alice", "carol", "dave", "viewer")]
            await alice.send("UH", _set("R-1", "main/max_order_quantity/limit/int/50"))
            answer = await alice.expect(lambda m: m.msg_type in ("UG", "j"))
            assert (answer.msg_type, answer.get(5100), answer.get(5152)) == ("UG", b"R-1", b"N")
            assert _limits(answer) == {
                ("main", "max_order_quantity", "limit"): "50",
                ("main", "order_rate", "max_orders"): "100",
                ("main", "order_rate", "window_ms"): "1000",
            }
            assert running.runtime.engine.risk.limits("X") == RISK
            # Every other session that may see the account is told, the read-only one too; dave (X only) is not.
            for other, read_only in ((carol, b"N"), (viewer, b"Y")):
                told = await other.expect(lambda m: m.msg_type == "UG")
                assert (told.get(5100), told.get(5152)) == (None, read_only)
                assert _limits(told)[("main", "max_order_quantity", "limit")] == "50"
            await dave.quiet(0.3)
            assert not dave.messages("UG")

            price = price_text(await _ask(running) - 10_000)
            await alice.send("D", order("BIG", qty=60, price=price, account="main"))
            big = await alice.expect(lambda m: m.msg_type == "8" and m.get(11) == b"BIG")
            assert big.get(39) == b"8"
            assert b"max_order_quantity: 60 exceeds limit 50" in (big.get(58) or b"")
            await alice.send("D", order("SMALL", qty=40, price=price, account="main"))
            small = await alice.expect(lambda m: m.msg_type == "8" and m.get(11) == b"SMALL")
            assert small.get(39) == b"0"

            # UF answers from the live limits, not the configuration.
            await carol.send("UF", "5100=R-2|1=main")
            report = await carol.expect(lambda m: m.msg_type == "UG" and m.get(5100) == b"R-2")
            assert _limits(report)[("main", "max_order_quantity", "limit")] == "50"
            for who in (alice, carol, dave, viewer):
                assert not who.invalid

    run(scenario())


def test_a_read_only_user_and_a_user_without_the_account_are_refused_and_nothing_changes(
    registry: PluginRegistry, tmp_path: Path, users_file: Path
) -> None:
    async def scenario() -> None:
        config = open_config(accounts=("main", "X"), risk=RISK)
        async with serving(registry, tmp_path, users_file, config=config) as running:
            viewer, dave, carol = [await _client(running, name) for name in ("viewer", "dave", "carol")]
            await viewer.send("UH", _set("V-1", "main/max_order_quantity/limit/int/5"))
            refused = await viewer.expect(lambda m: m.msg_type == "j")
            assert (refused.get(379), refused.get(380), refused.get(58)) == (b"V-1", b"6", b"user viewer is read-only")
            # A change naming an account the user may not use is refused whole (X alone would be allowed).
            await dave.send(
                "UH", _set("D-1", "X/max_order_quantity/limit/int/5", "main/max_order_quantity/limit/int/5")
            )
            refused = await dave.expect(lambda m: m.msg_type == "j")
            assert (refused.get(379), refused.get(380)) == (b"D-1", b"6")
            assert (refused.get(58) or b"").startswith(b"user dave may not use account 'main'")
            risk = running.runtime.engine.risk
            assert (risk.limits("main"), risk.limits("X")) == (RISK, RISK)
            await carol.quiet(0.3)
            assert not carol.messages("UG")

    run(scenario())


@pytest.mark.parametrize(
    ("row", "text"),
    [
        ("main/max_order_qty/limit/int/5", "unknown risk check(s) max_order_qty"),
        ("main/max_order_quantity/size/int/5", "unknown parameter(s) size"),
        ("main/order_rate/max_orders/str/many", "parameter max_orders: expected int, got 'many'"),
        ("main/max_order_quantity/limit/int/0", "max_order_quantity: parameter limit is required"),
        ("NOPE/max_order_quantity/limit/int/5", "unknown account 'NOPE'"),
    ],
    ids=["check", "param", "value", "zero", "account"],
)
def test_a_bad_change_is_refused_naming_it_and_nothing_changes(
    registry: PluginRegistry, tmp_path: Path, users_file: Path, row: str, text: str
) -> None:
    async def scenario() -> None:
        config = open_config(accounts=("main", "X"), risk=RISK)
        async with serving(registry, tmp_path, users_file, config=config) as running:
            root = await _client(running, "root")
            # The good row (X) is not applied either: a change is validated whole before anything changes.
            await root.send("UH", _set("C-1", "X/max_order_quantity/limit/int/7", row))
            refused = await root.expect(lambda m: m.msg_type in ("j", "UG"))
            assert (refused.msg_type, refused.get(379), refused.get(380)) == ("j", b"C-1", b"0")
            assert text in (refused.get(58) or b"").decode()
            risk = running.runtime.engine.risk
            assert (risk.limits("main"), risk.limits("X")) == (RISK, RISK)
            await root.send("UF", "5100=C-2|1=NOPE")  # an account the engine does not have: no limits
            report = await root.expect(lambda m: m.msg_type == "UG" and m.get(5100) == b"C-2")
            assert report.get(5150) == b"0"
            assert not root.invalid

    run(scenario())


def test_user_read_only_travels_in_a_report_and_never_in_a_set() -> None:
    rows = control.risk_limit_rows({"main": {"max_order_quantity": {"limit": 50}}})
    for read_only in (True, False, None):
        report = control.RiskLimits(limits=rows, request_id="R-1", read_only=read_only)
        assert control.decode_risk_limits(wire(control.encode_risk_limits_report(report))) == report
    change = control.encode_risk_limits_set(control.RiskLimits(limits=rows, request_id="R-2", read_only=True))
    assert change.get(control.USER_READ_ONLY) is None
    bad = FixMessage.build("UG", [(control.USER_READ_ONLY, b"maybe"), (control.NO_RISK_LIMITS, 0)])
    with pytest.raises(FixAppError, match=r"UserReadOnly \(5152\)"):
        control.decode_risk_limits(bad)
