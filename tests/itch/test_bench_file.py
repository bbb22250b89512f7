"""The benchmark's synthetic day is a valid ITCH file whose books build without an inconsistency."""

from __future__ import annotations

from bench.itch import SYMBOLS, generate, main

from engine.itch.book import ItchBooks, book_ops
from engine.itch.bulk import FramedFile
from engine.itch.stats import compute_stats


def test_synthetic_day_is_valid_and_realistically_mixed() -> None:
    framed = FramedFile(generate(20_000, seed=3))
    counts = framed.type_counts()
    assert 18_000 < len(framed) < 22_000
    assert set(counts) == set("SRAEXDUP")
    assert counts["R"] == len(SYMBOLS)
    assert counts["A"] > counts["U"] > counts["P"] > 0
    assert compute_stats(framed).by_symbol.keys() == set(SYMBOLS)
    books = ItchBooks()
    books.replay(book_ops(framed))
    assert sum(len(book) for book in books.books.values()) == 0  # every order's life ends within the day
    assert (framed.timestamps()[1:] >= framed.timestamps()[:-1]).all()


def test_same_seed_same_file() -> None:
    assert generate(5_000, seed=9).tobytes() == generate(5_000, seed=9).tobytes()


def test_bench_main_runs_small() -> None:
    args = ["--messages", "3000", "--runs", "1", "--book-messages", "2000", "--live-messages", "500", "--json"]
    assert main(args) == 0
