"""Driver of the tick-to-trade firmware: configures it from engine objects and reads its counters back."""

from engine.fpga.driver import (
    BookFlags,
    BookSlot,
    FirmwareCounters,
    FirmwareDriver,
    OrderEntry,
    Reg,
    RegisterBus,
    TriggerRule,
)

__all__ = [
    "BookFlags",
    "BookSlot",
    "FirmwareCounters",
    "FirmwareDriver",
    "OrderEntry",
    "Reg",
    "RegisterBus",
    "TriggerRule",
]
