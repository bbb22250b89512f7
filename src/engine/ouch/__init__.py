"""OUCH 4.2 order entry over SoupBinTCP 3.0: codec, session layer, the engine venue and a gateway to the simulator."""
