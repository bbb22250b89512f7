"""Pure trading domain: numbers, instruments, orders, events, books, portfolio and plugin contracts.

Nothing here performs I/O, touches Qt or runs an event loop; the engine and the desktop build on it.
"""
