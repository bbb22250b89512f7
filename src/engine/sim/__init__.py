"""Market simulator: the matching kernel, the background-trader flow and the simulated venue built on them."""
