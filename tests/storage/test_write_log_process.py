"""The write log applied by a process of its own (``serve``'s applier): it follows the segment files, applies
what they hold behind the engine, deletes full segments, is started again when killed, reports what it cannot
apply (test_write_log), and a killed engine's applier finishes before a restarted engine reads the log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import Engine, select

from engine.fix.store import SqlSessionStore
from engine.storage.commit_group import CommitGroup
from engine.storage.log_applier import ProcessLogApplier
from engine.storage.write_log import WRITE_LOG, open_write_log
from tests.storage.session_rows import stored_session
from tests.storage.test_write_log import _BatchOf


def _applied(database: Engine) -> int:
    with database.connect() as conn:
        return int(conn.execute(select(WRITE_LOG.c.applied_seq)).scalar_one())


def test_the_process_applies_what_the_log_holds_and_deletes_full_segments(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"
    SqlSessionStore(database, "K").close()

    async def scenario() -> list[BaseException]:
        failures: list[BaseException] = []
        log = open_write_log(database, directory, segment_bytes=400)
        applier = ProcessLogApplier(database, log, asyncio.get_running_loop(), on_error=failures.append)
        with database.connect() as conn:
            for seq in range(1, 31):
                batch = _BatchOf(conn.dialect)
                batch.kept(seq)
                applied = log.append(batch.statements)
                applier.put(applied)
                if seq == 15:
                    applier.sync()
                    assert stored_session(database, "K") == (16, 1, list(range(1, 16)))
        applier.sync()
        assert _applied(database) == 30
        assert sorted(directory.glob("*.wlog")) == [log.segment]  # the full segments are gone
        applier.close()
        log.close()
        return failures

    assert asyncio.run(scenario()) == []
    assert stored_session(database, "K") == (31, 1, list(range(1, 31)))


def test_a_killed_applier_is_started_again_and_applies_everything(database: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "engine.db-writes"

    async def scenario() -> list[BaseException]:
        failures: list[BaseException] = []
        group = CommitGroup(database, asyncio.get_running_loop(), write_log=directory)
        store = SqlSessionStore(database, "K", group=group)
        for seq in range(1, 11):
            store.save_sent(seq, b"frame-%d" % seq, 0)
            group.commit()
        applier = group._applier
        assert isinstance(applier, ProcessLogApplier)
        os.kill(applier._process.pid, signal.SIGKILL)
        await asyncio.sleep(0.2)  # the loop hears of it and starts another
        for seq in range(11, 21):
            store.save_sent(seq, b"frame-%d" % seq, 0)
            group.commit()
        group.sync()
        assert stored_session(database, "K") == (21, 1, list(range(1, 21)))
        store.close()
        group.close()
        return failures

    assert asyncio.run(scenario()) == []
    assert _applied(database) >= 20


def test_a_killed_engines_applier_finishes_before_a_restart_reads_the_log(database: Engine, tmp_path: Path) -> None:
    """The engine is killed with records still unapplied; its applier sees its input end, applies them and
    exits; the restarted engine waits for it, so that nothing is applied twice or lost."""
    directory = tmp_path / "engine.db-writes"
    SqlSessionStore(database, "K").close()
    url = str(database.url)
    engine_script = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        from pathlib import Path
        from engine.fix.store import SqlSessionStore
        from engine.storage.commit_group import CommitGroup
        from engine.storage.db import open_database

        async def main():
            database = open_database({url!r})
            group = CommitGroup(
                database, asyncio.get_running_loop(), write_log=Path({str(directory)!r})
            )
            store = SqlSessionStore(database, "K", group=group)
            for seq in range(1, 2001):
                store.save_sent(seq, b"frame-%d" % seq, 0)
                group.commit()
            print("written", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    engine = subprocess.run(
        [sys.executable, "-c", engine_script], capture_output=True, text=True, timeout=120, check=False
    )
    assert engine.returncode == -signal.SIGKILL, engine.stderr
    assert "written" in engine.stdout

    log = open_write_log(database, directory)
    log.close()
    assert stored_session(database, "K") == (2001, 1, list(range(1, 2001)))
    assert _applied(database) == 2000
