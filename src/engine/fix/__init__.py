"""FIX 4.4 tag=value codec, message type and data dictionary: the base of the FIX session layer.

The dictionary data (``fix44.json``) is derived from the QuickFIX project's FIX44.xml. This product includes
software developed by quickfixengine.org (http://www.quickfixengine.org/); see ``LICENSE-QUICKFIX.txt``.
"""

from engine.fix.codec import FixParser, GarbledMessage, encode, encode_message
from engine.fix.dictionary import FixDictionary, Rejection, SessionRejectReason, fix44
from engine.fix.message import FixMessage
from engine.fix.session import Application, Session, SessionConfig, SessionError, SessionState
from engine.fix.store import MemoryStore, SessionStore, SqlSessionStore, session_key

__all__ = [
    "Application",
    "FixDictionary",
    "FixMessage",
    "FixParser",
    "GarbledMessage",
    "MemoryStore",
    "Rejection",
    "Session",
    "SessionConfig",
    "SessionError",
    "SessionRejectReason",
    "SessionState",
    "SessionStore",
    "SqlSessionStore",
    "encode",
    "encode_message",
    "fix44",
    "session_key",
]
