"""Engine runtime: kernel, order manager, risk, venues, simulator, backtester, storage."""
