"""The gateway seen by a raw OUCH client: every answer is an OUCH message on the client's sequenced stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from bench.ouch import main as bench_main

from engine.ouch import messages as m
from engine.ouch.gateway import OuchGateway
from tests.ouch.harness import USERS, OuchClient, enter, eventually, quiet_exchange

RUN_S = 15.0


def run_gateway(scenario: Callable[[OuchGateway, OuchClient], Awaitable[None]]) -> None:
    async def main() -> None:
        gateway = OuchGateway(quiet_exchange(), users=USERS, max_shares=10_000)
        await gateway.start()
        client = OuchClient(gateway.port, "FIRM1", "pw1")
        await client.soup.connect()
        await eventually(lambda: len(client.messages) == 1)  # the start-of-day event
        try:
            await scenario(gateway, client)
        finally:
            await client.soup.close()
            await gateway.close()

    asyncio.run(asyncio.wait_for(main(), RUN_S))


async def answers(client: OuchClient, count: int) -> list[m.OutboundMessage]:
    """The client's messages after the start-of-day event, once there are ``count`` of them."""
    await eventually(lambda: len(client.messages) >= count + 1)
    return [message for _, message in client.messages[1:]]


def test_the_stream_opens_with_start_of_day_and_orders_are_accepted() -> None:
    async def scenario(gateway: OuchGateway, client: OuchClient) -> None:
        client.send(enter("T1", "B", 100, 1_004_000))
        [accepted] = await answers(client, 1)
        assert isinstance(client.messages[0][1], m.SystemEvent)
        assert client.messages[0][1].event_code == "S"
        assert isinstance(accepted, m.Accepted)
        assert (accepted.order_token, accepted.shares, accepted.price, accepted.order_state) == (
            "T1",
            100,
            1_004_000,
            "L",
        )

    run_gateway(scenario)


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (replace(enter("R1", "B", 100, 1_004_000), stock="NOPE"), "S"),
        (enter("R2", "B", 100, 1_004_050), "X"),
        (enter("R3", "B", 100_000, 1_004_000), "Z"),
        (enter("R4", "Q", 100, 1_004_000), "O"),
        (replace(enter("R5", "B", 100, 1_004_000), minimum_quantity=50), "N"),
    ],
    ids=["unknown-stock", "off-tick-price", "too-many-shares", "bad-side", "minimum-quantity"],
)
def test_invalid_orders_are_rejected_with_the_reason_code(order: m.EnterOrder, reason: str) -> None:
    async def scenario(gateway: OuchGateway, client: OuchClient) -> None:
        client.send(order)
        [rejected] = await answers(client, 1)
        assert rejected == m.Rejected(timestamp=rejected.timestamp, order_token=order.order_token, reason=reason)

    run_gateway(scenario)


def test_reduce_modify_replace_and_refusals() -> None:
    async def scenario(gateway: OuchGateway, client: OuchClient) -> None:
        async def ask(request: m.InboundMessage) -> m.OutboundMessage:
            count = len(client.messages)
            client.send(request)
            await eventually(lambda: len(client.messages) > count)
            return client.messages[-1][1]

        accepted = await ask(enter("T1", "S", 500, 1_008_000))
        assert isinstance(accepted, m.Accepted)
        assert accepted.shares == 500
        client.send(enter("T1", "S", 900, 1_008_000))  # a reused token is ignored
        reduced = await ask(m.CancelOrder(order_token="T1", shares=300))
        assert reduced == m.Canceled(timestamp=reduced.timestamp, order_token="T1", decrement_shares=200, reason="U")
        modified = await ask(m.ModifyOrder(order_token="T1", side="T", shares=200))
        assert modified == m.OrderModified(timestamp=modified.timestamp, order_token="T1", side="T", shares=200)
        replaced = await ask(
            m.ReplaceOrder(
                existing_order_token="T1", replacement_order_token="T2", shares=400, price=1_007_000,
                time_in_force=99_998, display="Y", intermarket_sweep="N", minimum_quantity=0,
            )
        )  # fmt: skip
        assert isinstance(replaced, m.Replaced)
        assert (replaced.previous_order_token, replaced.replacement_order_token) == ("T1", "T2")
        assert (replaced.shares, replaced.price, replaced.stock, replaced.side) == (400, 1_007_000, "ZVZZT", "S")
        # The old token is gone; the new one cancels; a second cancel is refused.
        assert await ask(m.CancelOrder(order_token="T1", shares=0)) == m.CancelReject(
            timestamp=client.messages[-1][1].timestamp, order_token="T1"
        )
        canceled = await ask(m.CancelOrder(order_token="T2", shares=0))
        assert canceled == m.Canceled(timestamp=canceled.timestamp, order_token="T2", decrement_shares=400, reason="U")
        refused = await ask(m.CancelOrder(order_token="T2", shares=0))
        assert refused == m.CancelReject(timestamp=refused.timestamp, order_token="T2")
        assert [sequence for sequence, _ in client.messages] == list(range(1, 9))

    run_gateway(scenario)


def test_an_immediate_or_cancel_order_without_liquidity_is_canceled() -> None:
    async def scenario(gateway: OuchGateway, client: OuchClient) -> None:
        client.send(enter("IOC1", "S", 100, 1_009_000, tif=m.TIF_IOC))
        accepted, canceled = await answers(client, 2)
        assert isinstance(accepted, m.Accepted)
        assert canceled == m.Canceled(
            timestamp=canceled.timestamp, order_token="IOC1", decrement_shares=100, reason="I"
        )

    run_gateway(scenario)


def test_the_bench_reports_rates_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--json", "--messages", "200", "--runs", "1"]) == 0
    figures = json.loads(capsys.readouterr().out)["msgs_per_s"]
    assert set(figures) == {"enter_order_encode", "enter_order_decode", "executed_encode", "executed_decode"}
    assert all(rate > 0 for rate in figures.values())
