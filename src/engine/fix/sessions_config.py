"""Who may log on to the engine's FIX server, with which session settings, and what each session may do.

With no ``[[fix.sessions]]`` in the engine configuration, any user of the users file logs on with SenderCompID
(49) = the user's name, TargetCompID (56) = ``ENGINE`` and Username (553) / Password (554). With sessions
declared, only their CompID pairs are accepted, each with its reset flags, SendingTime tolerance, authentication
mode, cancel-on-disconnect and account restriction (intersected with the user's accounts).

:class:`SessionDirectory` answers the two questions the server asks about a Logon: which
:class:`~engine.fix.session.SessionConfig` the session runs with (:meth:`SessionDirectory.config_for`), and whether
the credentials hold, giving the session's :class:`Permissions` (:meth:`SessionDirectory.authenticate`, which
hashes the password: run it off the event loop).
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine.config import FixSessionSettings
from engine.fix.session import SessionConfig
from engine.fix.users import ALL_ACCOUNTS, User, UsersFile, UsersFileError

DEFAULT_ENGINE_COMP_ID = "ENGINE"
"""The engine's CompID when no session is declared."""

_REFUSED = "unknown user or wrong password"


@dataclass(frozen=True, slots=True, kw_only=True)
class Permissions:
    """What one logged-on session may see and do.

    ``accounts`` None is every account. A read-only session sees orders, executions, positions and market data
    of its accounts but may not trade or control anything.
    """

    user: str
    read_only: bool = False
    accounts: frozenset[str] | None = None
    cancel_on_disconnect: bool = True

    def may_use(self, account: str) -> bool:
        """Whether the session may see (and, unless read-only, trade) ``account``."""
        return self.accounts is None or account in self.accounts

    @property
    def all_accounts(self) -> bool:
        """Whether every account is allowed (as a global kill switch or ``*`` requests need)."""
        return self.accounts is None

    def visible(self, accounts: Iterable[str]) -> tuple[str, ...]:
        """The ``accounts`` (e.g. the engine's) this session may see, in their order."""
        return tuple(account for account in accounts if self.may_use(account))

    def default_account(self, accounts: Sequence[str]) -> str | None:
        """The account an order without Account (1) goes to: the first of the engine's the session may use."""
        allowed = self.accounts
        for account in accounts:
            if allowed is None or account in allowed:
                return account
        return None


@dataclass(frozen=True, slots=True)
class Grant:
    """The outcome of a Logon's authentication: the session's permissions, or why it is refused."""

    permissions: Permissions | None
    problem: str | None = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` counts)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UsersSource:
    """The users file, read again when it changed on disk (so ``users add`` takes effect without a restart).

    ``path`` None (or a missing file) means no users. Thread-safe: authentication runs in worker threads.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users = UsersFile(path or Path("users.toml"))
        self.reload()

    def reload(self) -> UsersFile:
        """The users as the file holds them now; raises :class:`UsersFileError` for a file that cannot be read."""
        with self._lock:
            path = self.path
            if path is None:
                return self._users
            try:
                info = os.stat(path)
            except FileNotFoundError:
                self._users, self._stamp = UsersFile(path), None
                return self._users
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp != self._stamp:
                self._users = UsersFile.load(path)
                self._stamp = stamp
            return self._users

    @property
    def exists(self) -> bool:
        """Whether the users file exists."""
        return self.path is not None and self.path.exists()


class SessionDirectory:
    """The sessions the server accepts and how a Logon is checked.

    ``base`` carries the limits every session gets (message size, rate, timeouts); its CompIDs and per-session
    settings are replaced. ``loopback`` tells whether the server listens on a loopback address only: sessions
    with ``auth = "none"`` are refused otherwise (:class:`ValueError` here).
    """

    def __init__(
        self,
        sessions: Sequence[FixSessionSettings],
        users: UsersSource,
        *,
        loopback: bool,
        base: SessionConfig | None = None,
    ) -> None:
        self.sessions = tuple(sessions)
        self.users = users
        self._base = base or SessionConfig(sender_comp_id=DEFAULT_ENGINE_COMP_ID)
        open_sessions = [s for s in self.sessions if s.auth == "none"]
        if open_sessions and not loopback:
            pairs = ", ".join(f"{s.sender_comp_id}->{s.target_comp_id}" for s in open_sessions)
            raise ValueError(f'FIX session(s) {pairs} have auth = "none": allowed only on a loopback address')
        if self.needs_users and not users.exists:
            shown = users.path if users.path is not None else "users.toml"
            raise UsersFileError(f"{shown}: no such users file (add a user with `workstation-engine users add`)")

    @property
    def needs_users(self) -> bool:
        """Whether some Logon is checked against the users file."""
        return not self.sessions or any(session.auth == "password" for session in self.sessions)

    def settings_for(self, client_comp_id: str, engine_comp_id: str) -> FixSessionSettings | None:
        """The declared session of a Logon from ``client_comp_id`` (49) to ``engine_comp_id`` (56), if any."""
        for session in self.sessions:
            if session.target_comp_id == client_comp_id and session.sender_comp_id == engine_comp_id:
                return session
        return None

    def config_for(self, client_comp_id: str, engine_comp_id: str) -> SessionConfig:
        """The session configuration for a Logon from ``client_comp_id`` to ``engine_comp_id``.

        When the pair is not accepted, the configuration is one the session refuses the Logon with (its Logout
        names the wrong CompID).
        """
        base = self._base
        if not self.sessions:
            return replace(base, sender_comp_id=DEFAULT_ENGINE_COMP_ID, target_comp_id=None)
        settings = self.settings_for(client_comp_id, engine_comp_id)
        if settings is None:
            ours = [s for s in self.sessions if s.sender_comp_id == engine_comp_id] or list(self.sessions)
            return replace(base, sender_comp_id=ours[0].sender_comp_id, target_comp_id=ours[0].target_comp_id)
        return replace(
            base,
            sender_comp_id=settings.sender_comp_id,
            target_comp_id=settings.target_comp_id,
            reset_on_logon=settings.reset_on_logon,
            reset_on_logout=settings.reset_on_logout,
            reset_on_disconnect=settings.reset_on_disconnect,
            sending_time_tolerance_s=settings.sending_time_tolerance_s,
        )

    def authenticate(
        self, client_comp_id: str, engine_comp_id: str, username: str | None, password: str | None
    ) -> Grant:
        """Checks a Logon's credentials (blocking: it hashes the password) and gives the session's permissions.

        Without declared sessions the Username, when given, must be the SenderCompID. Unknown users and wrong
        passwords get the same answer and cost the same time.
        """
        settings = self.settings_for(client_comp_id, engine_comp_id) if self.sessions else None
        if self.sessions and settings is None:
            return Grant(None, f"no session {engine_comp_id}->{client_comp_id}")
        try:
            users = self.users.reload()
        except UsersFileError:
            return Grant(None, "the users file cannot be read")
        if settings is not None and settings.auth == "none":
            return Grant(_open_permissions(settings, users.get(username or client_comp_id)))
        name = username or client_comp_id
        if settings is None and name != client_comp_id:
            return Grant(None, "Username (553) must be the SenderCompID (49)")
        if not password:
            return Grant(None, "Password (554) is required")
        user = users.verify(name, password)
        if user is None:
            return Grant(None, _REFUSED)
        return Grant(_user_permissions(user, settings))


def _user_permissions(user: User, settings: FixSessionSettings | None) -> Permissions:
    accounts = None if user.all_accounts else frozenset(user.accounts)
    cancel = user.cancel_on_disconnect
    if settings is not None:
        accounts = _intersect(accounts, settings.accounts)
        if settings.cancel_on_disconnect is not None:
            cancel = settings.cancel_on_disconnect
    return Permissions(user=user.name, read_only=user.read_only, accounts=accounts, cancel_on_disconnect=cancel)


def _open_permissions(settings: FixSessionSettings, user: User | None) -> Permissions:
    """A session without authentication: the user of the same name's rights if there is one, else the session's."""
    if user is not None:
        return _user_permissions(user, settings)
    accounts = _intersect(None, settings.accounts)
    cancel = True if settings.cancel_on_disconnect is None else settings.cancel_on_disconnect
    return Permissions(user=settings.target_comp_id, accounts=accounts, cancel_on_disconnect=cancel)


def _intersect(accounts: frozenset[str] | None, allowed: Sequence[str] | None) -> frozenset[str] | None:
    if allowed is None or ALL_ACCOUNTS in allowed:
        return accounts
    limited = frozenset(allowed)
    return limited if accounts is None else accounts & limited
