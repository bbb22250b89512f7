"""Sample FIX 4.4 messages (field lists without 8, 9 and 10) shared by the tests and the benchmark."""

from __future__ import annotations

from engine.fix.message import Field

HEADER: list[Field] = [(49, b"CLIENT1"), (56, b"EXCHANGE"), (34, b"1234"), (52, b"20240601-13:30:00.123")]

LOGON: list[Field] = [(35, b"A"), *HEADER, (98, b"0"), (108, b"30"), (141, b"Y")]

NEW_ORDER_SINGLE: list[Field] = [
    (35, b"D"), *HEADER, (11, b"ORD-000001234"), (21, b"1"), (55, b"AAPL"), (54, b"1"),
    (60, b"20240601-13:30:00.123"), (38, b"100"), (40, b"2"), (44, b"187.25"), (59, b"0"),
]  # fmt: skip

EXECUTION_REPORT: list[Field] = [
    (35, b"8"), *HEADER, (37, b"EX-77"), (11, b"ORD-000001234"), (17, b"EXEC-1"), (150, b"F"), (39, b"2"),
    (55, b"AAPL"), (54, b"1"), (38, b"100"), (44, b"187.25"), (32, b"100"), (31, b"187.25"), (151, b"0"),
    (14, b"100"), (6, b"187.25"), (60, b"20240601-13:30:00.456"),
]  # fmt: skip

MD_SNAPSHOT: list[Field] = [
    (35, b"W"), *HEADER, (262, b"REQ-1"), (55, b"AAPL"), (268, b"3"),
    (269, b"0"), (270, b"187.24"), (271, b"500"),
    (269, b"1"), (270, b"187.26"), (271, b"300"), (290, b"1"),
    (269, b"2"), (270, b"187.25"), (271, b"100"),
]  # fmt: skip
