"""The built-in panels. Each is a plugin registered through the same hook as a third-party one."""

BUILTIN_PANEL_PLUGINS: tuple[tuple[str, str], ...] = (
    ("order-book", "workstation.plugins.order_book"),
    ("market-watch", "workstation.plugins.market_watch"),
    ("order-ticket", "workstation.plugins.ticket"),
    ("pnl", "workstation.plugins.pnl"),
    ("risk-limits", "workstation.plugins.risk_limits"),
    ("strategies", "workstation.plugins.strategies"),
    ("backtest-lab", "workstation.plugins.backtest_lab"),
    ("blotter", "workstation.plugins.blotter"),
    ("audit-log", "workstation.plugins.audit_log"),
    ("plugins", "workstation.plugins.plugins_panel"),
)
"""(plugin name, module) of every built-in panel plugin, in the order their docks are created."""
