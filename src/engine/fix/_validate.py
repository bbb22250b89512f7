"""Validation of a message against a :class:`~engine.fix.dictionary.FixDictionary`.

The field layout of a message (which tags, in which order) repeats from one order to the next, so a layout that
passed the structural checks (order, duplicates, required tags) is remembered and the next message with the same
tags only has its values checked. Messages with repeating groups always take the full pass.

Once seen a few times, a remembered layout checks every value at once: one pattern over the values joined
by SOH, made of each field's check (see :func:`_segment`). A message it does not accept has its values
checked one by one, which finds the same first problem as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from engine.fix.dictionary import GroupDef, Layout, Rejection, SessionRejectReason, format_pattern
from engine.fix.message import Field, FixMessage

if TYPE_CHECKING:
    from engine.fix.dictionary import FixDictionary

R = SessionRejectReason
_KNOWN_LAYOUTS = 4096
"""Structurally valid field layouts remembered (message type and tag sequence)."""
_MAX_PATTERN_FIELDS = 64
"""Layouts with more fields are checked one value at a time (compiling their pattern is not worth it)."""

_Key: TypeAlias = tuple[bytes | None, tuple[int, ...]]
"""A field layout: the raw MsgType and the tags in order."""
_AllValid: TypeAlias = Callable[[bytes], object]
"""``fullmatch`` of a layout's pattern over the SOH-joined values: a match when every value is valid."""
_ONE_BY_ONE: _AllValid = re.compile(b"(?!)").fullmatch
"""A remembered layout whose values are checked one by one: not seen often enough yet, or without a pattern."""
_COMPILE_AT = 8
"""Sightings of a layout after which its pattern is compiled (about 200 µs): a layout seen this often will be
seen again, and one a client uses only a few times is not worth it."""
_NEVER: tuple[int, ...] = tuple([-1])
"""Tags no message has: the last layout before any."""


class _ValueCheck:
    """How one field's values are checked: a format pattern and, when enumerated, the allowed values."""

    __slots__ = ("allowed", "matches", "multiple", "segment")

    def __init__(self, field_type: str, values: frozenset[bytes]) -> None:
        pattern = format_pattern(field_type)
        self.matches: Callable[[bytes], object] | None = None if pattern is None else pattern.fullmatch
        self.allowed = values or None
        self.multiple = field_type == "MULTIPLEVALUESTRING"
        self.segment = _segment(pattern, self.allowed, self.multiple)
        """This check as a piece of a layout's pattern (see :func:`_segment`), or None when it has none."""


def _segment(pattern: re.Pattern[bytes] | None, allowed: frozenset[bytes] | None, multiple: bool) -> bytes | None:
    """A pattern that matches, inside the SOH-joined values of a message, only values that
    :meth:`Validator._check_value` accepts, and never reaches past the field's SOH (None: the field has none).

    A valid value is not empty, matches the field's format and, when enumerated, is one of the allowed values
    (each space-separated token of a MULTIPLEVALUESTRING). Free text is a run of bytes other than SOH; a format is
    checked by a lookahead that ``[^SOH]+`` then consumes, so that no format can run into the next field. Being
    stricter than the checks costs only speed (a value it refuses is checked on its own), never a result.
    """
    if allowed is None:
        if pattern is None:
            return rb"[^\x01]+"
        return rb"(?=(?:" + pattern.pattern + rb")(?:\x01|\Z))[^\x01]+"
    if multiple and pattern is not None:
        return None
    valid = [
        value
        for value in allowed
        if value and b"\x01" not in value and (not multiple or b" " not in value)
        and (pattern is None or pattern.fullmatch(value))
    ]  # fmt: skip
    if not valid:
        return rb"(?!)"
    choice = b"(?:" + b"|".join(re.escape(value) for value in sorted(valid)) + b")"
    return choice + b"(?: " + choice + b")*" if multiple else choice


class Validator:
    """Walks a message's fields through header, body (with its repeating groups) and trailer, in that order."""

    __slots__ = ("_checks", "_dictionary", "_has_group", "_last", "_layouts", "_sightings")

    def __init__(self, dictionary: FixDictionary) -> None:
        self._dictionary = dictionary
        self._checks = {
            tag: _ValueCheck(spec.type, frozenset(value.encode("latin-1") for value in spec.values))
            for tag, spec in dictionary.fields.items()
        }
        self._layouts: dict[_Key, _AllValid] = {}
        self._sightings: dict[_Key, int] = {}
        """How often each remembered layout checked one by one was seen (see :data:`_COMPILE_AT`)."""
        self._last: tuple[tuple[int, ...], bytes | None, _AllValid] = (_NEVER, None, _ONE_BY_ONE)
        """The last layout checked at once: the tags object, MsgType and pattern (parsed messages of one layout
        share their tags object, so the next message is found without hashing its tags)."""
        self._has_group = False

    @property
    def dictionary(self) -> FixDictionary:
        """The dictionary this validator checks against."""
        return self._dictionary

    def run(self, message: FixMessage) -> Rejection | None:
        """The first problem found, or None."""
        tags = message.tags
        kind = message.get(35)
        last_tags, last_kind, all_valid = self._last
        if tags is not last_tags or kind != last_kind:
            key = (kind, tags)
            found = self._layouts.get(key)
            if found is None:
                return self._first_sight(message, key)
            all_valid = found
            if all_valid is _ONE_BY_ONE and key in self._sightings:
                seen = self._sightings[key] = self._sightings[key] + 1
                if seen >= _COMPILE_AT:
                    del self._sightings[key]
                    all_valid = self._layouts[key] = self._all_valid(tags, kind)
            if all_valid is not _ONE_BY_ONE:
                self._last = (tags, kind, all_valid)
        values = message.raw_values
        if all_valid(b"\x01".join(values)) is not None:
            return None
        for tag, value in zip(tags, values, strict=True):
            problem = self._check_value(tag, value)
            if problem is not None:
                return problem
        return None

    def _first_sight(self, message: FixMessage, key: _Key) -> Rejection | None:
        self._has_group = False
        problem = self._full(message)
        if problem is None and not self._has_group:
            if len(self._layouts) >= _KNOWN_LAYOUTS:
                self._layouts.clear()
                self._sightings.clear()
            self._layouts[key] = _ONE_BY_ONE
            self._sightings[key] = 1
        return problem

    def _all_valid(self, tags: tuple[int, ...], kind: bytes | None) -> _AllValid:
        """The check of every value of a remembered layout at once, or :data:`_ONE_BY_ONE` when it has none."""
        if kind is None or len(tags) > _MAX_PATTERN_FIELDS:
            return _ONE_BY_ONE
        segments: list[bytes] = []
        for tag in tags:
            segment = re.escape(kind) if tag == 35 else self._checks[tag].segment
            if segment is None:
                return _ONE_BY_ONE
            segments.append(segment)
        return re.compile(b"\x01".join(segments)).fullmatch

    def _full(self, message: FixMessage) -> Rejection | None:
        d = self._dictionary
        definition = d.messages.get(message.msg_type)
        if definition is None:
            return Rejection(reason=R.INVALID_MSGTYPE, ref_tag=35, text=f"invalid MsgType {message.msg_type!r}")
        levels = (d.header, definition.layout, d.trailer)
        seen: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        fields = message.fields
        stage = 0
        i = 0
        while i < len(fields):
            tag, value = fields[i]
            problem = self._check_value(tag, value)
            if problem is not None:
                return problem
            level = next((n for n in range(stage, 3) if tag in levels[n].members), None)
            if level is None:
                if any(tag in layout.members for layout in levels):
                    return Rejection(
                        reason=R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, ref_tag=tag, text=f"tag {tag} out of order"
                    )
                return Rejection(
                    reason=R.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE,
                    ref_tag=tag,
                    text=f"tag {tag} not defined for {definition.name}",
                )
            stage = level
            if tag in seen[level]:
                return Rejection(
                    reason=R.TAG_APPEARS_MORE_THAN_ONCE, ref_tag=tag, text=f"tag {tag} appears more than once"
                )
            seen[level].add(tag)
            group = levels[level].groups.get(tag)
            if group is None:
                i += 1
                continue
            i, problem = self._group(fields, i, group)
            if problem is not None:
                return problem
        for layout, present in zip(levels, seen, strict=True):
            problem = _missing(layout, present)
            if problem is not None:
                return problem
        return None

    def _check_value(self, tag: int, value: bytes) -> Rejection | None:
        check = self._checks.get(tag)
        if check is None:
            return Rejection(reason=R.INVALID_TAG_NUMBER, ref_tag=tag, text=f"undefined tag {tag}")
        if not value:
            return Rejection(reason=R.TAG_SPECIFIED_WITHOUT_A_VALUE, ref_tag=tag, text=f"tag {tag} has no value")
        if check.matches is not None and check.matches(value) is None:
            return Rejection(reason=R.INCORRECT_DATA_FORMAT, ref_tag=tag, text=f"incorrect data format for tag {tag}")
        allowed = check.allowed
        if allowed is not None and not (
            all(token in allowed for token in value.split(b" ")) if check.multiple else value in allowed
        ):
            return Rejection(reason=R.VALUE_IS_INCORRECT, ref_tag=tag, text=f"value is incorrect for tag {tag}")
        return None

    def _group(self, fields: tuple[Field, ...], i: int, group: GroupDef) -> tuple[int, Rejection | None]:
        """Checks the group whose NumInGroup field is at ``i``; returns the index after it and any problem."""
        self._has_group = True
        declared = int(fields[i][1])
        layout = group.layout
        entries = 0
        i += 1
        while i < len(fields) and fields[i][0] == group.delimiter:
            entries += 1
            present: set[int] = set()
            while i < len(fields):
                tag, value = fields[i]
                if tag not in layout.members or (tag == group.delimiter and present):
                    break
                if tag in present:
                    return i, Rejection(
                        reason=R.TAG_APPEARS_MORE_THAN_ONCE,
                        ref_tag=tag,
                        text=f"tag {tag} appears twice in a group entry",
                    )
                problem = self._check_value(tag, value)
                if problem is not None:
                    return i, problem
                present.add(tag)
                nested = layout.groups.get(tag)
                if nested is None:
                    i += 1
                    continue
                i, problem = self._group(fields, i, nested)
                if problem is not None:
                    return i, problem
            problem = _missing(layout, present)
            if problem is not None:
                return i, problem
        if entries != declared:
            text = f"NumInGroup {group.count_tag} says {declared} entries, found {entries}"
            return i, Rejection(reason=R.INCORRECT_NUMINGROUP_COUNT, ref_tag=group.count_tag, text=text)
        return i, None


def _missing(layout: Layout, present: set[int]) -> Rejection | None:
    for tag in layout.tags:
        if tag in layout.required and tag not in present:
            return Rejection(reason=R.REQUIRED_TAG_MISSING, ref_tag=tag, text=f"required tag {tag} missing")
    return None
