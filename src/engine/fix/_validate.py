"""Validation of a message against a :class:`~engine.fix.dictionary.FixDictionary`.

The field layout of a message (which tags, in which order) repeats from one order to the next, so a layout that
passed the structural checks (order, duplicates, required tags) is remembered and the next message with the same
tags only has its values checked. Messages with repeating groups always take the full pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.fix.dictionary import GroupDef, Layout, Rejection, SessionRejectReason, format_pattern
from engine.fix.message import Field, FixMessage

if TYPE_CHECKING:
    from engine.fix.dictionary import FixDictionary

R = SessionRejectReason
_KNOWN_LAYOUTS = 4096
"""Structurally valid field layouts remembered (message type and tag sequence)."""


class _ValueCheck:
    """How one field's values are checked: a format pattern and, when enumerated, the allowed values."""

    __slots__ = ("allowed", "matches", "multiple")

    def __init__(self, field_type: str, values: frozenset[bytes]) -> None:
        pattern = format_pattern(field_type)
        self.matches: Callable[[bytes], object] | None = None if pattern is None else pattern.fullmatch
        self.allowed = values or None
        self.multiple = field_type == "MULTIPLEVALUESTRING"


class Validator:
    """Walks a message's fields through header, body (with its repeating groups) and trailer, in that order."""

    __slots__ = ("_checks", "_dictionary", "_has_group", "_layouts")

    def __init__(self, dictionary: FixDictionary) -> None:
        self._dictionary = dictionary
        self._checks = {
            tag: _ValueCheck(spec.type, frozenset(value.encode("latin-1") for value in spec.values))
            for tag, spec in dictionary.fields.items()
        }
        self._layouts: set[tuple[str, tuple[int, ...]]] = set()
        self._has_group = False

    @property
    def dictionary(self) -> FixDictionary:
        """The dictionary this validator checks against."""
        return self._dictionary

    def run(self, message: FixMessage) -> Rejection | None:
        """The first problem found, or None."""
        fields = message.fields
        layout = (message.msg_type, tuple([tag for tag, _ in fields]))
        if layout in self._layouts:
            for tag, value in fields:
                problem = self._check_value(tag, value)
                if problem is not None:
                    return problem
            return None
        self._has_group = False
        problem = self._full(message)
        if problem is None and not self._has_group:
            if len(self._layouts) >= _KNOWN_LAYOUTS:
                self._layouts.clear()
            self._layouts.add(layout)
        return problem

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
