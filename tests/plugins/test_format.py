"""The plugin report: the table of ``workstation-engine plugins`` and its JSON form."""

from __future__ import annotations

import json

from engine.plugins import PluginInfo, PluginRegistry, format_plugins, plugins_as_json

LONG_REASON = (
    "unknown hook 'register_stratgies' in plugin <module 'acme_quant_toolkit.plugins.workstation' from "
    "'/opt/acme/site-packages/acme_quant_toolkit/plugins/workstation.py'>"
)


def sample() -> PluginRegistry:
    return PluginRegistry(
        plugins=[
            PluginInfo(
                name="strategies",
                source="built-in",
                status="loaded",
                registers=("strategy market-maker", "strategy twap", "strategy pairs-mean-reversion"),
            ),
            PluginInfo(
                name="example",
                source="entry point workstation-example-plugin 0.1.0",
                status="loaded",
                registers=("strategy example-momentum", "risk check example_odd_lot"),
            ),
            PluginInfo(
                name="acme",
                source="entry point acme-quant-toolkit 2024.11.3",
                status="failed",
                reason=LONG_REASON,
            ),
            PluginInfo(name="noisy", source="extra", status="disabled", reason="disabled by configuration"),
        ]
    )


def test_the_table_fits_a_100_column_terminal_and_lists_every_plugin() -> None:
    table = format_plugins(sample())
    lines = table.splitlines()

    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == ["PLUGIN", "STATUS", "SOURCE", "REGISTERS"]
    assert lines[-2:] == ["", "4 plugins: 2 loaded, 1 failed, 1 disabled"]
    rows = {line.split()[0]: line for line in lines[1:-2] if not line.startswith(" ")}
    assert set(rows) == {"strategies", "example", "acme", "noisy"}
    assert "loaded" in rows["example"]
    assert "entry point workstation-example-plugin 0.1.0" in rows["example"]
    assert "strategy example-momentum" in rows["example"]
    assert "risk check example_odd_lot" in table


def test_failed_plugins_show_their_reason_under_their_row() -> None:
    lines = format_plugins(sample()).splitlines()

    acme = next(i for i, line in enumerate(lines) if line.startswith("acme "))
    assert "failed" in lines[acme]
    reason_lines = []
    for line in lines[acme + 1 :]:
        if not line.startswith(" "):
            break
        reason_lines.append(line.strip())
    assert reason_lines[0].startswith("reason: unknown hook 'register_stratgies'")
    assert " ".join(reason_lines) == f"reason: {LONG_REASON}"


def test_columns_line_up() -> None:
    lines = format_plugins(sample()).splitlines()

    status_column = lines[0].index("STATUS")
    registers_column = lines[0].index("REGISTERS")
    for name in ("strategies", "example", "acme", "noisy"):
        row = next(line for line in lines if line.startswith(name + " "))
        assert row[status_column:].split()[0] in {"loaded", "failed", "disabled"}
        if name in {"strategies", "example"}:
            assert row[registers_column:].startswith("strategy ")


def test_an_empty_registry_says_so() -> None:
    assert format_plugins(PluginRegistry()) == "no plugins"


def test_the_json_form_carries_every_field() -> None:
    data = plugins_as_json(sample())

    assert json.loads(json.dumps(data)) == data
    assert data[1] == {
        "name": "example",
        "source": "entry point workstation-example-plugin 0.1.0",
        "status": "loaded",
        "registers": ["strategy example-momentum", "risk check example_odd_lot"],
        "reason": "",
    }
    assert [item["status"] for item in data] == ["loaded", "loaded", "failed", "disabled"]
