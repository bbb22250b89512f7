"""The users file: who may log on to the engine's FIX server, with which password, accounts and rights.

A TOML file (by default ``users.toml`` in the user's config directory), one ``[[users]]`` table per user::

    [[users]]
    name = "alice"
    password = "scrypt$16384$8$1$<salt base64>$<hash base64>"
    read_only = false
    accounts = ["ACC-1", "ACC-2"]
    cancel_on_disconnect = true

``name`` is the user's SenderCompID (letters, digits and ``_ . @ -``, up to 64). ``password`` is a salted scrypt
hash with its parameters (N, r, p); a random 16-byte salt per user. ``accounts`` lists the accounts the user may
see and trade; an empty list is none, ``"*"`` is every account. ``read_only`` users see but cannot send orders
or control anything. ``cancel_on_disconnect`` (default true) cancels the user's working orders when their session
ends. Only ``name`` and ``password`` are required. The file is written atomically with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "workstation"
ALL_ACCOUNTS = "*"
"""The ``accounts`` entry that grants every account."""

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_KEYS = {"name", "password", "read_only", "accounts", "cancel_on_disconnect"}
_DUMMY_HASH = (
    f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
    f"{base64.b64encode(bytes(SALT_BYTES)).decode()}${base64.b64encode(bytes(HASH_BYTES)).decode()}"
)


class UsersFileError(ValueError):
    """A users file that cannot be read or changed; the message names the file and the key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """One user of the FIX server."""

    name: str
    password_hash: str
    read_only: bool = False
    accounts: tuple[str, ...] = ()
    cancel_on_disconnect: bool = True

    @property
    def all_accounts(self) -> bool:
        """Whether the user may use every account (``accounts`` holds ``"*"``)."""
        return ALL_ACCOUNTS in self.accounts

    def may_use(self, account: str) -> bool:
        """Whether the user may see and (unless read-only) trade ``account``."""
        return self.all_accounts or account in self.accounts


def default_users_path() -> Path:
    """``users.toml`` in the user's config directory."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "users.toml"


# --- passwords ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scrypt:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def _parse_hash(encoded: str) -> _Scrypt:
    """The parts of ``scrypt$N$r$p$salt$hash``; raises ValueError naming what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$N$r$p$<salt base64>$<hash base64>")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("N, r and p must be integers, salt and hash base64") from None
    if n < 2 or n & (n - 1) or not 0 < r <= 64 or not 0 < p <= 16 or n > 2**20:
        raise ValueError(f"unusable scrypt parameters N={n} r={r} p={p}")
    if not salt or not digest:
        raise ValueError("empty salt or hash")
    return _Scrypt(n, r, p, salt, digest)


def _derive(password: str, n: int, r: int, p: int, salt: bytes, length: int) -> bytes:
    memory = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=length)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The stored form of ``password``: ``scrypt$16384$8$1$<salt b64>$<hash b64>`` with a random 16-byte salt."""
    if not password:
        raise ValueError("the password must not be empty")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = _derive(password, SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, HASH_BYTES)
    encoded_salt = base64.b64encode(salt).decode("ascii")
    encoded_digest = base64.b64encode(digest).decode("ascii")
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded_salt}${encoded_digest}"


def check_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored ``encoded`` hash (compared in constant time)."""
    stored = _parse_hash(encoded)
    digest = _derive(password, stored.n, stored.r, stored.p, stored.salt, len(stored.digest))
    return hmac.compare_digest(digest, stored.digest)


# --- the file -----------------------------------------------------------------------------------------------


class UsersFile:
    """The users of a users file, by name."""

    __slots__ = ("path", "users")

    def __init__(self, path: Path, users: Iterable[User] = ()) -> None:
        self.path = path
        """Where the users were read from."""
        self.users: dict[str, User] = {user.name: user for user in users}
        """Every user by name, in file order."""

    @classmethod
    def load(cls, path: Path | str) -> UsersFile:
        """Reads ``path``; raises :class:`UsersFileError` naming the file and key of any problem."""
        path = Path(path)
        try:
            with path.open("rb") as stream:
                document = tomllib.load(stream)
        except FileNotFoundError:
            raise UsersFileError(
                f"{path}: no such users file (add a user with `workstation-engine users add`)"
            ) from None
        except OSError as error:
            raise UsersFileError(f"{path}: cannot read: {error.strerror or error}") from None
        except tomllib.TOMLDecodeError as error:
            raise UsersFileError(f"{path}: not valid TOML: {error}") from None
        return cls(path, _read_users(path, document))

    def get(self, name: str) -> User | None:
        """The user called ``name``, or None."""
        return self.users.get(name)

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``name`` exists and ``password`` is theirs, else None.

        An unknown name costs the same hashing as a known one, so timing does not tell whether a user exists.
        """
        user = self.users.get(name)
        if user is None:
            check_password(password, _DUMMY_HASH)
            return None
        return user if check_password(password, user.password_hash) else None


def _read_users(path: Path, document: Mapping[str, Any]) -> list[User]:
    unknown = sorted(set(document) - {"users"})
    if unknown:
        raise UsersFileError(f"{path}: {unknown[0]}: unknown key (expected [[users]] tables)")
    tables = document.get("users", [])
    if not isinstance(tables, list):
        raise UsersFileError(f"{path}: users: expected [[users]] tables")
    users: list[User] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        key = f"users[{index}]"
        if not isinstance(table, dict):
            raise UsersFileError(f"{path}: {key}: expected a table")
        user = _read_user(path, key, table)
        if user.name in seen:
            raise UsersFileError(f"{path}: {key}.name: user {user.name!r} appears twice")
        seen.add(user.name)
        users.append(user)
    return users


def _read_user(path: Path, key: str, table: Mapping[str, Any]) -> User:
    def fail(field: str, problem: str) -> UsersFileError:
        return UsersFileError(f"{path}: {key}.{field}: {problem}")

    if "name" not in table:
        raise fail("name", "missing")
    name = table["name"]
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise fail("name", f"{name!r} is not a user name (letters, digits, _ . @ -, up to 64)")
    key = f"{key} ({name})"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    if "password" not in table:
        raise fail("password", "missing")
    password = table["password"]
    if not isinstance(password, str):
        raise fail("password", "expected a scrypt hash string")
    try:
        _parse_hash(password)
    except ValueError as error:
        raise fail("password", str(error)) from None
    flags = {}
    for flag, default in (("read_only", False), ("cancel_on_disconnect", True)):
        value = table.get(flag, default)
        if not isinstance(value, bool):
            raise fail(flag, f"expected true or false, got {value!r}")
        flags[flag] = value
    accounts = table.get("accounts", [])
    if not isinstance(accounts, list) or not all(isinstance(a, str) and a.strip() for a in accounts):
        raise fail("accounts", f'expected a list of account names (or ["*"] for all), got {accounts!r}')
    return User(
        name=name,
        password_hash=password,
        read_only=flags["read_only"],
        accounts=tuple(accounts),
        cancel_on_disconnect=flags["cancel_on_disconnect"],
    )


def _toml_string(text: str) -> str:
    """A TOML basic string of ``text``."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def render_users(users: Iterable[User]) -> str:
    """The TOML text of a users file holding ``users``."""
    lines = [
        "# Users of the workstation engine's FIX server (`workstation-engine users add` writes this file).",
        '# password: scrypt$N$r$p$<salt base64>$<hash base64>; accounts = ["*"] grants every account.',
    ]
    for user in users:
        accounts = ", ".join(_toml_string(account) for account in user.accounts)
        lines += [
            "",
            "[[users]]",
            f"name = {_toml_string(user.name)}",
            f"password = {_toml_string(user.password_hash)}",
            f"read_only = {'true' if user.read_only else 'false'}",
            f"accounts = [{accounts}]",
            f"cancel_on_disconnect = {'true' if user.cancel_on_disconnect else 'false'}",
        ]
    return "\n".join(lines) + "\n"


def write_users(path: Path | str, users: Iterable[User]) -> None:
    """Writes the users file atomically (a temporary file in the same directory, then a rename), mode 0600."""
    path = Path(path)
    text = render_users(users)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=".users-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_user(
    path: Path | str,
    name: str,
    password: str,
    *,
    read_only: bool = False,
    accounts: Sequence[str] = (),
    cancel_on_disconnect: bool = True,
    replace: bool = False,
) -> User:
    """Adds a user to the users file at ``path`` (created if missing) and returns it.

    A name already in the file is refused unless ``replace`` (which sets the user's password and settings anew).
    """
    path = Path(path)
    if _NAME.fullmatch(name) is None:
        raise UsersFileError(f"{path}: {name!r} is not a user name (letters, digits, _ . @ -, up to 64)")
    if not password:
        raise UsersFileError(f"{path}: user {name!r}: the password must not be empty")
    if any(not account.strip() for account in accounts):
        raise UsersFileError(f"{path}: user {name!r}: account names must not be empty")
    users = UsersFile.load(path).users if path.exists() else {}
    if name in users and not replace:
        raise UsersFileError(f"{path}: user {name!r} already exists (replace it to change the password)")
    user = User(
        name=name,
        password_hash=hash_password(password),
        read_only=read_only,
        accounts=tuple(accounts),
        cancel_on_disconnect=cancel_on_disconnect,
    )
    updated = dict(users)
    updated[name] = user
    write_users(path, updated.values())
    return user
