"""``itch stats`` and ``itch book`` as a user runs them, on files and on captures of the same messages."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from engine.itch import cli
from engine.itch.encode import encode_framed
from engine.itch.messages import Message, SystemEvent
from engine.itch.sources import load
from engine.itch.stats import compute_stats
from tests.itch.capture import write_capture
from tests.itch.reference import depth_rows
from tests.itch.scenario import SYMBOLS, directory, session


@pytest.fixture
def day(tmp_path: Path) -> tuple[list[Message], Path, Path]:
    messages = session(seed=21, count=700)
    path = tmp_path / "day.itch"
    path.write_bytes(encode_framed(messages))
    capture = tmp_path / "day.pcap"
    write_capture(capture, messages)
    return messages, path, capture


def test_stats_json(day: tuple[list[Message], Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    messages, path, _ = day
    assert cli.main(["stats", str(path), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    by_type: dict[str, int] = {}
    for message in messages:
        by_type[message.TYPE] = by_type.get(message.TYPE, 0) + 1
    by_symbol = {sym: sum(m.stock_locate == loc for m in messages) for loc, sym in SYMBOLS.items()}
    assert got == {"messages": len(messages), "by_type": by_type, "by_symbol": by_symbol}
    assert list(got) == ["messages", "by_type", "by_symbol"]


def test_stats_of_the_capture_equal_those_of_the_file(
    day: tuple[list[Message], Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, path, capture = day
    assert cli.main(["stats", str(path), "--json"]) == 0
    from_file = capsys.readouterr().out
    assert cli.main(["stats", str(capture), "--pcap", "--json"]) == 0
    assert capsys.readouterr().out == from_file


def test_stats_text(day: tuple[list[Message], Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    messages, path, _ = day
    assert cli.main(["stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"messages: {len(messages)}\n")
    assert "ZVZZT" in out


def test_messages_of_a_locate_without_directory_count_toward_no_symbol(tmp_path: Path) -> None:
    stray = SystemEvent(stock_locate=9, tracking_number=0, timestamp=1, event_code="O")
    path = tmp_path / "f.itch"
    path.write_bytes(encode_framed([directory(1, "AAPL", 0), stray]))
    assert compute_stats(load(path)).by_symbol == {"AAPL": 1}


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as stream:
        return list(csv.reader(stream))


@pytest.mark.parametrize("symbol", sorted(SYMBOLS.values()))
def test_book_csv_matches_the_reference(day: tuple[list[Message], Path, Path], tmp_path: Path, symbol: str) -> None:
    messages, path, _ = day
    out = tmp_path / "book.csv"
    assert cli.main(["book", str(path), "--symbol", symbol, "--levels", "3", "--out", str(out)]) == 0
    rows = _read_csv(out)
    header = ["msg_index", "timestamp_ns"]
    for i in (1, 2, 3):
        header += [f"ask_price_{i}", f"ask_size_{i}", f"bid_price_{i}", f"bid_size_{i}"]
    assert rows[0] == header
    locate = next(loc for loc, sym in SYMBOLS.items() if sym == symbol)
    assert rows[1:] == depth_rows(messages, locate, 3)
    assert any(row[-1] == "" for row in rows[1:])  # empty levels occur and are empty fields


def test_book_from_the_capture_equals_the_book_from_the_file(
    day: tuple[list[Message], Path, Path], tmp_path: Path
) -> None:
    _, path, capture = day
    from_file, from_capture = tmp_path / "file.csv", tmp_path / "capture.csv"
    assert cli.main(["book", str(path), "--symbol", "MSFT", "--levels", "5", "--out", str(from_file)]) == 0
    args = ["book", str(capture), "--pcap", "--symbol", "MSFT", "--levels", "5", "--out", str(from_capture)]
    assert cli.main(args) == 0
    assert from_capture.read_text() == from_file.read_text()
    assert len(_read_csv(from_file)) > 100


def test_errors_are_reported_with_exit_codes(
    day: tuple[list[Message], Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, path, _ = day
    out = str(tmp_path / "x.csv")
    assert cli.main(["book", str(path), "--symbol", "NOPE", "--levels", "2", "--out", out]) == cli.EXIT_USAGE
    assert "'NOPE' is not in the stock directory" in capsys.readouterr().err
    assert cli.main(["book", str(path), "--symbol", "AAPL", "--levels", "0", "--out", out]) == cli.EXIT_USAGE
    truncated = tmp_path / "cut.itch"
    truncated.write_bytes(path.read_bytes()[:-5])
    assert cli.main(["stats", str(truncated)]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert "truncated message" in err
    assert "at byte offset" in err
    assert cli.main(["stats", str(tmp_path / "missing.itch")]) == cli.EXIT_INPUT


def test_add_parser_plugs_into_a_host_command_line(day: tuple[list[Message], Path, Path]) -> None:
    _, path, _ = day
    host = argparse.ArgumentParser(prog="workstation-engine")
    cli.add_parser(host.add_subparsers(dest="command", required=True))
    args = host.parse_args(["itch", "stats", str(path), "--json"])
    assert args.command == "itch"
    assert cli.run(args) == 0
