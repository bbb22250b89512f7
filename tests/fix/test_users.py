"""The users file: adding users, checking passwords, rights, file permissions and readable errors."""

from __future__ import annotations

import base64
import os
import stat
import sys
from pathlib import Path

import pytest

from engine.fix.users import (
    UsersFile,
    UsersFileError,
    add_user,
    check_password,
    default_users_path,
    hash_password,
    render_users,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "users.toml"


def test_add_then_verify(path: Path) -> None:
    alice = add_user(path, "alice", "s3cret pass", accounts=["ACC-1", "ACC-2"])
    users = UsersFile.load(path)
    assert users.verify("alice", "s3cret pass") == alice
    assert users.verify("alice", "s3cret Pass") is None
    assert users.verify("bob", "s3cret pass") is None
    assert (alice.read_only, alice.cancel_on_disconnect, alice.accounts) == (False, True, ("ACC-1", "ACC-2"))
    assert alice.may_use("ACC-1")
    assert not alice.may_use("ACC-3")


def test_password_is_stored_as_salted_scrypt_with_its_parameters(path: Path) -> None:
    add_user(path, "alice", "pw")
    text = path.read_text(encoding="utf-8")
    assert 'pw"' not in text
    stored = UsersFile.load(path).users["alice"].password_hash
    kind, n, r, p, salt, digest = stored.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    again = hash_password("pw")
    assert again != stored
    assert check_password("pw", again)
    assert hash_password("pw", salt=base64.b64decode(salt)) == stored


def test_duplicate_is_refused_and_replace_changes_the_password(path: Path) -> None:
    add_user(path, "alice", "old")
    add_user(path, "bob", "bobs", read_only=True)
    with pytest.raises(UsersFileError, match=r"users\.toml: user 'alice' already exists"):
        add_user(path, "alice", "new")
    add_user(path, "alice", "new", replace=True, accounts=["*"])
    users = UsersFile.load(path)
    assert list(users.users) == ["alice", "bob"]
    assert users.verify("alice", "old") is None
    alice = users.verify("alice", "new")
    assert alice is not None
    assert alice.all_accounts
    assert alice.may_use("ANY")


def test_read_only_and_settings_persist(path: Path) -> None:
    add_user(path, "viewer", "pw", read_only=True, accounts=[], cancel_on_disconnect=False)
    viewer = UsersFile.load(path).get("viewer")
    assert viewer is not None
    assert (viewer.read_only, viewer.accounts, viewer.cancel_on_disconnect) == (True, (), False)
    assert not viewer.may_use("ACC-1")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_file_is_private_and_written_atomically(path: Path) -> None:
    add_user(path, "alice", "pw")
    add_user(path, "bob", "pw")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["users.toml"]


def test_accounts_with_odd_characters_survive_the_toml_writer(path: Path) -> None:
    odd = ['quote"d', "back\\slash", "tab\there", "ünïcode", "new\nline"]
    add_user(path, "alice", "pw", accounts=odd)
    assert UsersFile.load(path).users["alice"].accounts == tuple(odd)


@pytest.mark.parametrize(
    ("name", "password", "problem"),
    [("", "pw", "not a user name"), ("al ice", "pw", "not a user name"), ("alice", "", "must not be empty")],
)
def test_bad_new_users_are_refused(path: Path, name: str, password: str, problem: str) -> None:
    with pytest.raises(UsersFileError, match=problem):
        add_user(path, name, password)
    assert not path.exists()


GOOD = hash_password("pw", salt=bytes(16))

BAD_FILES = [
    ("not toml", "[[users]\nname = 1", "not valid TOML"),
    ("unknown top key", '[server]\nport = 1\n', r"server: unknown key"),
    ("missing password", '[[users]]\nname = "alice"\n', r"users\[0\] \(alice\)\.password: missing"),
    ("missing name", f'[[users]]\npassword = "{GOOD}"\n', r"users\[0\]\.name: missing"),
    ("bad name", f'[[users]]\nname = "a b"\npassword = "{GOOD}"\n', r"users\[0\]\.name: 'a b' is not a user name"),
    ("bad hash", '[[users]]\nname = "alice"\npassword = "plain"\n', r"users\[0\] \(alice\)\.password: expected scrypt"),
    ("bad salt", '[[users]]\nname = "alice"\npassword = "scrypt$16384$8$1$!!$AA=="\n',
     r"\(alice\)\.password: .*base64"),
    ("flag type", f'[[users]]\nname = "alice"\npassword = "{GOOD}"\nread_only = "yes"\n',
     r"\(alice\)\.read_only: expected true or false"),
    ("accounts type", f'[[users]]\nname = "alice"\npassword = "{GOOD}"\naccounts = "ACC-1"\n',
     r"\(alice\)\.accounts: expected a list"),
    ("unknown key", f'[[users]]\nname = "alice"\npassword = "{GOOD}"\nadmin = true\n',
     r"\(alice\)\.admin: unknown key"),
    ("twice", f'[[users]]\nname = "a"\npassword = "{GOOD}"\n[[users]]\nname = "a"\npassword = "{GOOD}"\n',
     r"users\[1\]\.name: user 'a' appears twice"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "problem"), BAD_FILES, ids=[case for case, _, _ in BAD_FILES])
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, case: str, text: str, problem: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsersFileError, match=problem) as caught:
        UsersFile.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    with pytest.raises(UsersFileError):
        add_user(path, "newcomer", "pw")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsersFileError, match="no such users file"):
        UsersFile.load(tmp_path / "absent.toml")


def test_hand_written_file_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(f'# ours\n[[users]]\nname = "ops@desk"\npassword = "{GOOD}"\n', encoding="utf-8")
    user = UsersFile.load(path).verify("ops@desk", "pw")
    assert user is not None
    assert (user.read_only, user.accounts, user.cancel_on_disconnect) == (False, (), True)
    assert render_users([user]).count("[[users]]") == 1


def test_default_path_is_in_the_config_directory() -> None:
    path = default_users_path()
    assert path.name == "users.toml"
    assert "workstation" in path.parts
