"""Forms generated from declared parameters (:class:`core.params.Param`), for strategies, checks and backtests.

Each parameter gets the editor its type calls for: a spin box with the declared bounds for an ``int``, a line
edit checked by :meth:`Param.coerce` for a ``float`` or ``Decimal`` (and for free text), a check box for a
``bool``, a combo box for text with declared choices. The form's reader returns every value coerced, or raises
:class:`core.params.ParamError` naming the first parameter that is not acceptable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6 import QtCore, QtWidgets

from core.params import Param, ParamError, ParamValue

INT_SPIN_LIMIT = 2**31 - 1
"""A spin box holds a 32-bit int; an ``int`` parameter whose bounds go beyond it is edited as text."""

Reader = Callable[[], ParamValue]
"""Returns one editor's current value, coerced by its parameter (raises ``ParamError``)."""


def _spin_bounds(param: Param) -> tuple[int, int] | None:
    """The spin box range of an ``int`` parameter, or None when it does not fit a spin box."""
    low = -INT_SPIN_LIMIT if param.minimum is None else int(param.minimum)
    high = INT_SPIN_LIMIT if param.maximum is None else int(param.maximum)
    if -INT_SPIN_LIMIT <= low <= high <= INT_SPIN_LIMIT and -INT_SPIN_LIMIT <= int(param.default) <= INT_SPIN_LIMIT:
        return low, high
    return None


def _bounds_text(param: Param) -> str:
    if param.minimum is not None and param.maximum is not None:
        return f"{param.minimum} to {param.maximum}"
    if param.minimum is not None:
        return f"at least {param.minimum}"
    if param.maximum is not None:
        return f"at most {param.maximum}"
    return ""


def _editor(param: Param, value: ParamValue, tip: str, invalid_style: str) -> tuple[QtWidgets.QWidget, Reader]:
    """One parameter's editor showing ``value``, and the reader of its value."""
    if param.type is bool:
        box = QtWidgets.QCheckBox()
        box.setChecked(bool(value))
        return box, lambda: param.coerce(box.isChecked())
    if param.type is str and param.choices:
        combo = QtWidgets.QComboBox()
        combo.addItems(list(param.choices))
        combo.setCurrentText(str(value))
        return combo, lambda: param.coerce(combo.currentText())
    bounds = _spin_bounds(param) if param.type is int else None
    if bounds is not None:
        spin = QtWidgets.QSpinBox()
        spin.setRange(*bounds)
        spin.setGroupSeparatorShown(True)
        spin.setValue(int(value))
        spin.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return spin, lambda: param.coerce(spin.value())
    edit = QtWidgets.QLineEdit(str(value))
    edit.setPlaceholderText(_bounds_text(param))
    if param.type is not str:
        edit.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def mark() -> None:
        try:
            param.coerce(edit.text())
        except ParamError as error:
            edit.setProperty("invalid", True)
            edit.setToolTip(str(error))
            edit.setStyleSheet(invalid_style)
        else:
            edit.setProperty("invalid", False)
            edit.setToolTip(tip)
            edit.setStyleSheet("")

    edit.textChanged.connect(lambda _text: mark())
    return edit, lambda: param.coerce(edit.text())


def build_param_form(
    params: Sequence[Param],
    values: Mapping[str, ParamValue] | None = None,
    parent: QtWidgets.QWidget | None = None,
    *,
    invalid_colour: str = "#ff1744",
) -> tuple[QtWidgets.QWidget, Callable[[], dict[str, ParamValue]]]:
    """A form with one editor per parameter (showing ``values`` where given, else the defaults), and its reader.

    The reader returns ``{name: value}`` of every parameter, each coerced by its :class:`Param`; it raises
    :class:`ParamError` (whose message names the parameter) for the first value that is not acceptable. Each
    label and editor carries the parameter's description and bounds as its tool tip. A line edit whose text is
    not acceptable gets a border of ``invalid_colour`` (pass the theme's ``reject`` colour), the problem as its
    tool tip and the dynamic property ``invalid``.
    """
    form = QtWidgets.QWidget(parent)
    layout = QtWidgets.QFormLayout(form)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setHorizontalSpacing(10)
    layout.setVerticalSpacing(4)
    layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    readers: dict[str, Reader] = {}
    given = values or {}
    invalid_style = f"QLineEdit {{ border: 1px solid {invalid_colour}; }}"
    for param in params:
        bounds = _bounds_text(param)
        tip = param.description + (f" ({bounds})" if bounds else "")
        editor, reader = _editor(param, given.get(param.name, param.default), tip, invalid_style)
        editor.setObjectName(param.name)
        editor.setToolTip(tip)
        label = QtWidgets.QLabel(param.name.replace("_", " "))
        label.setToolTip(tip)
        layout.addRow(label, editor)
        readers[param.name] = reader

    def read() -> dict[str, ParamValue]:
        return {name: reader() for name, reader in readers.items()}

    if not params:
        layout.addRow(QtWidgets.QLabel("no parameters"))
    return form, read
