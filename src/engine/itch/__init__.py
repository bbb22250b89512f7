"""NASDAQ TotalView-ITCH 5.0 on the software path: message layouts, decoding (bulk and live), encoding,
MoldUDP64 framing and sequencing, libpcap captures, order-level books and file statistics."""
