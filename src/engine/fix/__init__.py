"""FIX 4.4 tag=value codec, message type and data dictionary: the base of the FIX session layer.

The dictionary data (``fix44.json``) is derived from the QuickFIX project's FIX44.xml. This product includes
software developed by quickfixengine.org (http://www.quickfixengine.org/); see ``LICENSE-QUICKFIX.txt``.
"""

from engine.fix.codec import FixParser, GarbledMessage, encode, encode_message
from engine.fix.dictionary import FixDictionary, Rejection, SessionRejectReason, fix44
from engine.fix.message import FixMessage

__all__ = [
    "FixDictionary",
    "FixMessage",
    "FixParser",
    "GarbledMessage",
    "Rejection",
    "SessionRejectReason",
    "encode",
    "encode_message",
    "fix44",
]
