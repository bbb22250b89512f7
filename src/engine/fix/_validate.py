"""One validation pass of a message against a :class:`~engine.fix.dictionary.FixDictionary`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.fix.dictionary import GroupDef, Layout, Rejection, SessionRejectReason, check_format
from engine.fix.message import Field, FixMessage

if TYPE_CHECKING:
    from engine.fix.dictionary import FixDictionary

R = SessionRejectReason


class Validator:
    """Walks a message's fields through header, body (with its repeating groups) and trailer, in that order."""

    __slots__ = ("_dictionary",)

    def __init__(self, dictionary: FixDictionary) -> None:
        self._dictionary = dictionary

    def run(self, message: FixMessage) -> Rejection | None:
        """The first problem found, or None."""
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
        spec = self._dictionary.fields.get(tag)
        if spec is None:
            return Rejection(reason=R.INVALID_TAG_NUMBER, ref_tag=tag, text=f"undefined tag {tag}")
        if not value:
            return Rejection(reason=R.TAG_SPECIFIED_WITHOUT_A_VALUE, ref_tag=tag, text=f"tag {tag} has no value")
        if not check_format(spec.type, value):
            return Rejection(reason=R.INCORRECT_DATA_FORMAT, ref_tag=tag, text=f"incorrect data format for tag {tag}")
        if spec.values:
            text = value.decode("latin-1")
            tokens = text.split(" ") if spec.type == "MULTIPLEVALUESTRING" else (text,)
            if not all(token in spec.values for token in tokens):
                return Rejection(reason=R.VALUE_IS_INCORRECT, ref_tag=tag, text=f"value is incorrect for tag {tag}")
        return None

    def _group(self, fields: tuple[Field, ...], i: int, group: GroupDef) -> tuple[int, Rejection | None]:
        """Checks the group whose NumInGroup field is at ``i``; returns the index after it and any problem."""
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
