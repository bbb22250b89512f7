"""The risk limits panel: each account's live risk checks and their parameters, edited in place, and the kill switch.

What the table shows is ``SessionInfo.risk_limits`` as the desktop state keeps it (every ``RiskLimitsChanged``
updates it, whoever made the change: this desktop, another one, a FIX client), never what was typed. A value the
trader edits stays marked as an edit until Apply; each edit is checked as its kind requires before anything is sent
(a whole number for quantities, counts, ticks and milliseconds; an amount for money; a number for percentages), and
then the engine validates the whole change: it applies all of it or none, and its reason for refusing is shown.
A read-only session sees the same values with every field disabled and a note saying why.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from core.numbers import decimal_to_money
from engine.text import decimal_text
from workstation.hookspecs import hookimpl
from workstation.panel import Panel, PanelContext, PanelSpec
from workstation.theme import Theme
from workstation.widgets import Selection, dense_table

KILL_SWITCH_CHECK = "kill_switch"
"""The kill switch is engaged and released, never set as a limit: its row (if the engine lists it) is not editable."""


class Kind(StrEnum):
    """How a parameter is typed, checked and shown."""

    WHOLE = "whole"
    """A whole number, 0 or more (quantities, counts, ticks, milliseconds)."""
    MONEY = "money"
    """An amount of money, 0 or more, no finer than the money scale; sent as its decimal text."""
    DECIMAL = "decimal"
    """A number, 0 or more (percentages); sent as its decimal text."""
    FLAG = "flag"
    """On or off (a check box)."""
    TEXT = "text"
    """Free text (a list of symbols)."""


@dataclass(frozen=True, slots=True)
class ParamKind:
    """A parameter's kind and the unit shown beside it."""

    kind: Kind
    unit: str = ""


KNOWN_PARAMS: dict[tuple[str, str], ParamKind] = {
    ("max_order_quantity", "limit"): ParamKind(Kind.WHOLE, "qty"),
    ("max_order_notional", "limit"): ParamKind(Kind.MONEY, "{currency}"),
    ("price_band", "max_ticks"): ParamKind(Kind.WHOLE, "ticks"),
    ("price_band", "max_percent"): ParamKind(Kind.DECIMAL, "%"),
    ("price_band", "require_reference"): ParamKind(Kind.FLAG),
    ("max_position", "limit"): ParamKind(Kind.WHOLE, "qty"),
    ("max_gross_exposure", "limit"): ParamKind(Kind.MONEY, "{currency}"),
    ("daily_loss", "limit"): ParamKind(Kind.MONEY, "{currency}"),
    ("daily_loss", "flatten"): ParamKind(Kind.FLAG),
    ("daily_loss", "allow_reducing"): ParamKind(Kind.FLAG),
    ("order_rate", "max_orders"): ParamKind(Kind.WHOLE, "orders"),
    ("order_rate", "window_ms"): ParamKind(Kind.WHOLE, "ms"),
    ("restricted_instruments", "symbols"): ParamKind(Kind.TEXT, "symbols"),
    (KILL_SWITCH_CHECK, "engaged"): ParamKind(Kind.FLAG),
}
"""The built-in checks' parameters ({currency} is the instruments' currency). Another check's parameters get their
kind from their value: a flag, a whole number, a number, else text."""

_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
_GROUPING = str.maketrans("", "", ",_ ")


def param_kind(check: str, param: str, value: Any) -> ParamKind:
    """The kind of ``check``'s parameter ``param`` (its live value ``value`` decides for checks not known here)."""
    known = KNOWN_PARAMS.get((check, param))
    if known is not None:
        return known
    if isinstance(value, bool):
        return ParamKind(Kind.FLAG)
    if isinstance(value, int):
        return ParamKind(Kind.WHOLE)
    if isinstance(value, float | Decimal) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        return ParamKind(Kind.DECIMAL)
    return ParamKind(Kind.TEXT)


def parse_value(kind: Kind, text: str) -> int | str:
    """The value to send for ``text`` typed into a ``kind`` field; ``ValueError`` says what is wrong with it.

    Digit grouping (``10,000``, ``10_000``) is accepted. Money and decimals are sent as their exact decimal text.
    """
    raw = text.strip()
    if kind is Kind.TEXT:
        return raw
    if kind is Kind.FLAG:
        raise ValueError("a flag is switched on or off, not typed")
    plain = raw.translate(_GROUPING)
    if not plain:
        raise ValueError("enter a value")
    if plain.startswith("-"):
        raise ValueError(f"{raw} is negative; a limit is 0 or more")
    if kind is Kind.WHOLE:
        if not plain.isdigit():
            raise ValueError(f"{raw!r} is not a whole number")
        return int(plain)
    if not _NUMBER.fullmatch(plain):
        raise ValueError(f"{raw!r} is not a number")
    try:
        value = Decimal(plain)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None
    if kind is Kind.MONEY:
        try:
            decimal_to_money(value)
        except ValueError as error:
            raise ValueError(f"{raw} is finer than the money scale ({error})") from None
    return decimal_text(value)


def value_text(kind: Kind, value: Any) -> str:
    """``value`` as the table shows it: grouped whole numbers, money to the cent (or finer when it is), on/off."""
    if kind is Kind.FLAG:
        return "on" if value else "off"
    if kind is Kind.TEXT:
        return str(value) if value not in (None, "") else "none"
    if isinstance(value, bool) or value is None:
        return str(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if kind is Kind.MONEY:
        return f"{number:,.2f}" if number == number.quantize(Decimal("0.01")) else f"{number.normalize():,f}"
    if kind is Kind.WHOLE and number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


def edit_text(kind: Kind, value: Any) -> str:
    """``value`` as an editor starts with it: plain, without grouping."""
    if kind is Kind.TEXT:
        return "" if value is None else str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


Key = tuple[str, str, str]
"""(account, check, parameter)."""


@dataclass(frozen=True, slots=True)
class LimitRow:
    """One line of the table: an account's check parameter, its live value and its kind."""

    account: str
    check: str
    param: str
    value: Any
    kind: ParamKind

    @property
    def key(self) -> Key:
        return self.account, self.check, self.param

    @property
    def editable(self) -> bool:
        """Whether a trader may change it here (the kill switch is engaged and released, not set)."""
        return self.check != KILL_SWITCH_CHECK


def limit_rows(risk_limits: Mapping[str, Mapping[str, Mapping[str, Any]]], accounts: Sequence[str]) -> list[LimitRow]:
    """The table lines of ``risk_limits``: accounts in session order, then checks and parameters as the engine
    lists them (a check enabled without parameters has a line with an empty parameter)."""
    ordered = [account for account in accounts if account in risk_limits]
    ordered += [account for account in risk_limits if account not in ordered]
    rows: list[LimitRow] = []
    for account in ordered:
        for check, params in risk_limits[account].items():
            if not params:
                rows.append(LimitRow(account, check, "", None, ParamKind(Kind.TEXT)))
            for param, value in params.items():
                rows.append(LimitRow(account, check, param, value, param_kind(check, param, value)))
    return rows


COLUMNS = ("Account", "Check", "Parameter", "Value", "Unit")
VALUE_COLUMN = 3
UNIT_COLUMN = 4
_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
_ROLE = QtCore.Qt.ItemDataRole
_FLAG = QtCore.Qt.ItemFlag


class RiskLimitsModel(QtCore.QAbstractTableModel):
    """The live limits, with the trader's edits not applied yet (``pending``) and what is wrong with any of them."""

    edited = QtCore.Signal(str)
    """An edit was made: what is wrong with it ("" when it is a valid value)."""

    def __init__(self, theme: Theme, currency: str, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._currency = currency
        self.rows: list[LimitRow] = []
        self.pending: dict[Key, str | bool] = {}
        """Edited values not applied yet: the text typed (the check state of a flag)."""
        self.problems: dict[Key, str] = {}
        """Pending edits that are not valid values, with the reason."""
        self.read_only = False
        self._bold = QtGui.QFont()
        self._bold.setBold(True)

    # --- content -------------------------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[LimitRow]) -> None:
        """Show ``rows`` (the live limits); edits of parameters that are gone, or now hold what was typed, drop."""
        live = {row.key: row for row in rows}
        for key in list(self.pending):
            row = live.get(key)
            if row is None or self._same(row, self.pending[key]):
                self.pending.pop(key)
                self.problems.pop(key, None)
        if [row.key for row in rows] == [row.key for row in self.rows]:
            self.rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def set_read_only(self, read_only: bool) -> None:
        """Disable (or enable again) every value field."""
        if read_only != self.read_only:
            self.read_only = read_only
            if self.rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    def revert(self) -> None:
        """Forget every edit not applied."""
        self.pending.clear()
        self.problems.clear()
        if self.rows:
            self.dataChanged.emit(self.index(0, VALUE_COLUMN), self.index(len(self.rows) - 1, VALUE_COLUMN))

    def row_of(self, account: str, check: str, param: str) -> int | None:
        """The line of ``account``'s ``check`` parameter ``param``, or None."""
        for number, row in enumerate(self.rows):
            if row.key == (account, check, param):
                return number
        return None

    def unit(self, row: LimitRow) -> str:
        """The unit shown beside ``row``'s value."""
        return row.kind.unit.replace("{currency}", self._currency)

    def changes(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The valid pending edits as typed values: account -> check -> parameter -> value to send."""
        result: dict[str, dict[str, dict[str, Any]]] = {}
        kinds = {row.key: row.kind.kind for row in self.rows}
        for key, typed in self.pending.items():
            if key in self.problems or key not in kinds:
                continue
            account, check, param = key
            value = typed if isinstance(typed, bool) else parse_value(kinds[key], typed)
            result.setdefault(account, {}).setdefault(check, {})[param] = value
        return result

    def drop_if_sent(self, key: Key, sent: Any) -> None:
        """Forget the edit of ``key`` once applied, unless it was edited again to something else meanwhile."""
        typed = self.pending.get(key)
        if typed is None:
            return
        number = self.row_of(*key)
        kind = Kind.FLAG if number is None else self.rows[number].kind.kind
        try:
            same = typed == sent if isinstance(typed, bool) else parse_value(kind, typed) == sent
        except ValueError:
            same = False
        if same:
            self.pending.pop(key)
            self.problems.pop(key, None)

    def _same(self, row: LimitRow, typed: str | bool) -> bool:
        """Whether ``typed`` is the value ``row`` already holds."""
        if isinstance(typed, bool):
            return typed == bool(row.value)
        try:
            value = parse_value(row.kind.kind, typed)
        except ValueError:
            return False
        if row.kind.kind in (Kind.MONEY, Kind.DECIMAL):
            try:
                return Decimal(str(value)) == Decimal(str(row.value))
            except InvalidOperation:
                return False
        return bool(value == row.value)

    # --- Qt model --------------------------------------------------------------------------------------------------

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation is not QtCore.Qt.Orientation.Horizontal:
            return None
        if role == _ROLE.DisplayRole:
            return COLUMNS[section]
        if role == _ROLE.TextAlignmentRole:
            return _RIGHT if section == VALUE_COLUMN else _LEFT
        return None

    def flags(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex) -> QtCore.Qt.ItemFlag:
        if not index.isValid():
            return _FLAG.NoItemFlags
        row = self.rows[index.row()]
        if index.column() != VALUE_COLUMN or not row.param:
            return _FLAG.ItemIsEnabled | _FLAG.ItemIsSelectable
        if self.read_only or not row.editable:
            return _FLAG.ItemIsSelectable  # shown, greyed: not to be changed from here
        if row.kind.kind is Kind.FLAG:
            return _FLAG.ItemIsEnabled | _FLAG.ItemIsSelectable | _FLAG.ItemIsUserCheckable
        return _FLAG.ItemIsEnabled | _FLAG.ItemIsSelectable | _FLAG.ItemIsEditable

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        key = row.key
        if role == _ROLE.DisplayRole:
            return self._text(index.row(), column)
        if role == _ROLE.EditRole and column == VALUE_COLUMN:
            typed = self.pending.get(key)
            return typed if isinstance(typed, str) else edit_text(row.kind.kind, row.value)
        if role == _ROLE.CheckStateRole and column == VALUE_COLUMN and row.kind.kind is Kind.FLAG and row.param:
            typed = self.pending.get(key)
            on = typed if isinstance(typed, bool) else bool(row.value)
            return QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked
        if role == _ROLE.TextAlignmentRole:
            return _RIGHT if column == VALUE_COLUMN else _LEFT
        if role == _ROLE.ForegroundRole:
            return self._colour(row, column)
        if role == _ROLE.FontRole and column == VALUE_COLUMN and key in self.pending:
            return self._bold
        if role == _ROLE.ToolTipRole and column == VALUE_COLUMN:
            return self._tooltip(row)
        return None

    def setData(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, value: Any, role: int = _ROLE.EditRole
    ) -> bool:
        if not index.isValid() or index.column() != VALUE_COLUMN:
            return False
        if not self.flags(index) & (_FLAG.ItemIsEditable | _FLAG.ItemIsUserCheckable):
            return False
        row = self.rows[index.row()]
        if role == _ROLE.CheckStateRole and row.kind.kind is Kind.FLAG:
            on = QtCore.Qt.CheckState(value) == QtCore.Qt.CheckState.Checked
            return self.edit(row.key, on)
        if role == _ROLE.EditRole and row.kind.kind is not Kind.FLAG:
            return self.edit(row.key, str(value))
        return False

    def edit(self, key: Key, typed: str | bool) -> bool:
        """Record ``typed`` as the edit of ``key``'s value (dropped when it is the live value); False when there
        is no such editable line. Emits :attr:`edited` with what is wrong with it."""
        number = self.row_of(*key)
        if number is None or self.read_only or not self.rows[number].editable:
            return False
        row = self.rows[number]
        problem = ""
        if self._same(row, typed):
            self.pending.pop(key, None)
            self.problems.pop(key, None)
        else:
            self.pending[key] = typed
            if not isinstance(typed, bool):
                try:
                    parse_value(row.kind.kind, typed)
                except ValueError as error:
                    problem = f"{row.check} {row.param}: {error}"
            if problem:
                self.problems[key] = problem
            else:
                self.problems.pop(key, None)
        cell = self.index(number, VALUE_COLUMN)
        self.dataChanged.emit(cell, cell)
        self.edited.emit(problem)
        return True

    def _text(self, number: int, column: int) -> str:
        row = self.rows[number]
        if column == VALUE_COLUMN:
            if not row.param:
                return "enabled"
            typed = self.pending.get(row.key)
            if isinstance(typed, str):
                return typed
            return value_text(row.kind.kind, typed if typed is not None else row.value)
        if column == UNIT_COLUMN:
            return self.unit(row)
        previous = self.rows[number - 1] if number else None
        if column == 0 and previous is not None and previous.account == row.account:
            return ""  # one account's lines read as a group
        if column == 1 and previous is not None and previous.account == row.account and previous.check == row.check:
            return ""  # the check's further parameters
        return (row.account, row.check, row.param)[column]

    def _colour(self, row: LimitRow, column: int) -> QtGui.QColor | None:
        theme = self._theme
        if column == VALUE_COLUMN:
            if row.key in self.problems:
                return theme.colour("reject")
            if row.key in self.pending:
                return theme.colour("warning")
            if self.read_only or not row.editable:
                return theme.colour("muted")
            if row.kind.kind is Kind.TEXT and row.value in (None, ""):
                return theme.colour("muted")
            return None
        if column in (2, UNIT_COLUMN):
            return theme.colour("muted")
        return None

    def _tooltip(self, row: LimitRow) -> str:
        live = value_text(row.kind.kind, row.value)
        if row.key in self.problems:
            return f"Not a valid value: {self.problems[row.key]}"
        if row.key in self.pending:
            return f"Edited, not applied yet (live value {live}); Apply sends it"
        if not row.editable:
            return "The kill switch is engaged and released, not set as a limit"
        if self.read_only:
            return "Read-only session: limits cannot be changed from here"
        return "Double-click to edit; Apply sends every edit at once"


class RiskLimitsPanel(Panel):
    """Every account's live risk limits, edited in place and applied through the desktop's commands, and the
    kill switch's state with its controls."""

    linkable = False

    def __init__(self, context: PanelContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(context, parent)
        theme, state = context.theme, context.state
        self._limits: object = None
        self._read_only: bool | None = None
        self._kill: bool | None = None
        self._answers: list[tuple[str, dict[str, dict[str, Any]], asyncio.Task[Any]]] = []
        self._inflight = 0
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(5)

        top = QtWidgets.QHBoxLayout()
        top.setSpacing(8)
        caption = QtWidgets.QLabel("Kill switch")
        caption.setStyleSheet(f"color: {theme.hex('muted')};")
        self.kill_label = QtWidgets.QLabel()
        self.kill_label.setObjectName("kill-switch-state")
        self.engage_button = QtWidgets.QPushButton("Engage…")
        self.engage_button.setProperty("role", "danger")
        self.engage_button.setToolTip("Cancel every working order and block new orders on every account")
        self.engage_button.clicked.connect(lambda: self.context.commands.kill_switch())
        self.release_button = QtWidgets.QPushButton("Release")
        self.release_button.setToolTip("Let orders through again")
        self.release_button.clicked.connect(lambda: self.context.commands.release_kill_switch())
        top.addWidget(caption)
        top.addWidget(self.kill_label)
        top.addStretch(1)
        top.addWidget(self.engage_button)
        top.addWidget(self.release_button)
        layout.addLayout(top)

        self.read_only_note = QtWidgets.QLabel()
        self.read_only_note.setObjectName("read-only-note")
        self.read_only_note.setWordWrap(True)
        self.read_only_note.setStyleSheet(f"color: {theme.hex('warning')};")
        self.read_only_note.hide()
        layout.addWidget(self.read_only_note)

        currencies = {instrument.currency for instrument in state.instruments.values()}
        self.model = RiskLimitsModel(theme, currencies.pop() if len(currencies) == 1 else "ccy", self)
        self.model.edited.connect(self._edited)
        self.table = dense_table(self.model, selection=Selection.SingleSelection, row_height=22)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setEditTriggers(
            QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
            | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed
            | QtWidgets.QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(48)
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(UNIT_COLUMN, QtWidgets.QHeaderView.ResizeMode.Fixed)
        layout.addWidget(self.table, 1)

        bottom = QtWidgets.QHBoxLayout()
        bottom.setSpacing(6)
        self.status = QtWidgets.QLabel()
        self.status.setObjectName("risk-limits-status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setMinimumHeight(34)
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.revert_button = QtWidgets.QPushButton("Revert")
        self.revert_button.setToolTip("Forget the edits not applied")
        self.revert_button.clicked.connect(self.revert)
        self.apply_button = QtWidgets.QPushButton("Apply")
        self.apply_button.setToolTip("Send every edit to the engine, which applies all of them or none")
        self.apply_button.clicked.connect(self.apply)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.revert_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        bottom.addWidget(self.apply_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addLayout(bottom)
        muted, grid, surface = theme.hex("muted"), theme.hex("grid"), theme.hex("surface")
        # Disabled controls must look disabled (a read-only session, nothing to apply), and an unchecked flag
        # must still show its box on a dark background.
        self.setStyleSheet(
            f"QPushButton:disabled {{ background-color: {surface}; color: {muted}; border-color: {grid}; "
            "font-weight: normal; }"
            f"QTableView::indicator {{ width: 11px; height: 11px; border: 1px solid {muted}; border-radius: 2px; "
            f"background-color: {theme.hex('background')}; }}"
            f"QTableView::indicator:checked {{ background-color: {theme.hex('accent')}; "
            f"border-color: {theme.hex('accent')}; }}"
            f"QTableView::indicator:disabled {{ border-color: {grid}; }}"
            f"QTableView::indicator:checked:disabled {{ background-color: {muted}; border-color: {muted}; }}"
        )
        self._tips = {
            button: button.toolTip()
            for button in (self.engage_button, self.release_button, self.apply_button, self.revert_button)
        }
        self.refresh()

    # --- actions -------------------------------------------------------------------------------------------------

    def edit(self, account: str, check: str, param: str, value: str | bool) -> bool:
        """Type ``value`` into ``account``'s ``check`` parameter ``param`` as the trader would (not sent yet)."""
        return self.model.edit((account, check, param), value)

    def apply(self) -> int:
        """Send the edits, one change per account; returns how many changes were sent (0 when refused here)."""
        refusal = self.context.commands.refusal
        if refusal is not None:
            self._show(f"Not sent: {refusal}", "reject")
            return 0
        if self.model.problems:
            self._show(f"Not sent: {next(iter(self.model.problems.values()))}", "reject")
            return 0
        changes = self.model.changes()
        if not changes:
            self._show("Nothing to apply: no value was changed", "muted")
            return 0
        for account, change in changes.items():
            task = self.context.commands.set_risk_limits(account, change)
            self._inflight += 1
            task.add_done_callback(functools.partial(self._answered, account, change))
        self._show("Sent to the engine, waiting for its answer…", "muted")
        self._update_buttons()
        return len(changes)

    def _answered(self, account: str, change: dict[str, dict[str, Any]], task: asyncio.Task[Any]) -> None:
        """The engine answered a change: kept for the next frame, which shows it (no widget is touched here)."""
        self._answers.append((account, change, task))

    def revert(self) -> None:
        """Forget the edits not applied."""
        self.model.revert()
        self._show("", "muted")
        self._update_buttons()

    def _edited(self, problem: str) -> None:
        if problem:
            self._show(f"Not a valid value: {problem}", "reject")
        elif self.model.pending:
            count = len(self.model.pending)
            self._show(f"{count} edit{'s' if count > 1 else ''} not applied yet", "warning")
        else:
            self._show("", "muted")
        self._update_buttons()

    # --- the frame -----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        state = self.context.state
        if self._answers:
            self._take_answers()
        limits = state.info.risk_limits
        if limits is not self._limits:
            self._limits = limits
            self.model.set_rows(limit_rows(limits, state.accounts))
            self.table.setColumnWidth(UNIT_COLUMN, self.table.sizeHintForColumn(UNIT_COLUMN) + 14)
            self._update_buttons()
        read_only = self.context.commands.refusal is not None
        if read_only != self._read_only:
            self._read_only = read_only
            self._show_read_only(read_only)
        if state.kill_switch_engaged != self._kill:
            self._kill = state.kill_switch_engaged
            role = "reject" if self._kill else "profit"
            self.kill_label.setText("ENGAGED: new orders are blocked" if self._kill else "released")
            self.kill_label.setProperty("engaged", self._kill)
            self.kill_label.setStyleSheet(f"color: {self.context.theme.hex(role)}; font-weight: bold;")

    def _take_answers(self) -> None:
        answers, self._answers = self._answers, []
        for account, change, task in answers:
            self._inflight -= 1
            error = None if task.cancelled() else task.exception()
            if task.cancelled() or error is not None:
                self._show(f"Refused by the engine ({account}): {error or 'cancelled'}", "reject")
                continue
            for check, params in change.items():
                for param, value in params.items():
                    self.model.drop_if_sent((account, check, param), value)
            applied = ", ".join(f"{check} {param}" for check, params in change.items() for param in params)
            self._show(f"Applied to {account}: {applied}", "profit")
        self._limits = None  # repaint from the state now: it holds what the engine answered
        self._update_buttons()

    def _show_read_only(self, read_only: bool) -> None:
        user = self.context.state.info.user
        if read_only and self.model.pending:
            self.revert()  # edits made before the session became read-only can no longer be applied
        self.model.set_read_only(read_only)
        self.read_only_note.setText(
            f"Read-only session ({user}): the limits are shown as the engine has them but cannot be changed, "
            "and the kill switch can be neither engaged nor released from here."
        )
        self.read_only_note.setVisible(read_only)
        for button, tip in self._tips.items():
            button.setToolTip(f"Read-only session: {tip[0].lower()}{tip[1:]} is not allowed" if read_only else tip)
        self._update_buttons()

    def _update_buttons(self) -> None:
        allowed = self.context.commands.refusal is None
        self.engage_button.setEnabled(allowed)
        self.release_button.setEnabled(allowed)
        self.apply_button.setEnabled(allowed and bool(self.model.pending) and not self._inflight)
        self.revert_button.setEnabled(allowed and bool(self.model.pending))

    def _show(self, text: str, role: str) -> None:
        self.status.setText(text)
        self.status.setProperty("role", role)
        self.status.setStyleSheet(f"color: {self.context.theme.hex(role)};")

    def save_state(self) -> Mapping[str, Any]:
        """Nothing follows an instrument here; the column widths are the table's own."""
        return {}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore (the limits are the engine's)."""


def _factory(context: PanelContext) -> QtWidgets.QWidget:
    return RiskLimitsPanel(context)


SPEC = PanelSpec(
    name="risk-limits",
    title="Risk Limits",
    factory=_factory,
    area="right",
    tab_with="pnl",
    description="Each account's live risk limits, edited in place and applied by the engine, and the kill switch.",
)


@hookimpl
def register_panels() -> Sequence[PanelSpec]:
    """The risk limits panel."""
    return [SPEC]
