"""What stops the server from starting is said in one line, through the real CLI: the file, what is wrong
and what to do, and a non-zero exit, never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from disk_support import small_disk

from spaceinvaders_backend.local.process import CLI, free_port
from spaceinvaders_backend.local.tokens import KEY_FILE


def _made(data_dir: Path) -> Path:
    """A data directory with a database and a signing key, as a server that ran leaves it."""
    subprocess.run([*CLI, "create-manager", "--username", "boss", "--password", "secret-1", "--data-dir",
                    str(data_dir)], check=True, capture_output=True)
    from spaceinvaders_backend.local.tokens import load_or_create_key
    load_or_create_key(data_dir)
    return data_dir


def _refused(data_dir: Path, *extra: str, port: int | None = None) -> str:
    """The one line `serve` prints before it exits non-zero."""
    run = subprocess.run([*CLI, "serve", "--port", str(port or free_port()), "--data-dir", str(data_dir), *extra],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert run.stdout == "", run.stdout  # not even the banner
    return lines[0]


def test_a_damaged_signing_key(tmp_path):
    data = _made(tmp_path / "data")
    (data / KEY_FILE).write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    line = _refused(data)
    assert str(data / KEY_FILE) in line and "move it away" in line


def test_a_damaged_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "spaceinvaders.db").write_bytes(b"this is not a database, only some text" * 100)
    line = _refused(data)
    assert str(data / "spaceinvaders.db") in line and "not a database" in line and "backup" in line


def test_a_read_only_data_directory(tmp_path):
    if os.geteuid() == 0:  # root writes through file modes: a read-only file system is the way to refuse it
        with small_disk(tmp_path / "disk") as disk:
            data = _made(disk.path / "data")
            disk.read_only()
            line = _refused(data)
            disk.read_only(False)
    else:
        data = _made(tmp_path / "data")
        data.chmod(0o500)
        (data / "spaceinvaders.db").chmod(0o400)
        line = _refused(data)
        data.chmod(0o700)
    assert str(data) in line and "cannot write" in line and "writable" in line


def test_a_full_disk(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        data = _made(disk.path / "data")
        disk.fill()
        line = _refused(data)
        assert str(data) in line and "the disk is full" in line and "free some space" in line
        new = disk.path / "new"  # a first start on a full disk, too
        line = _refused(new)
        assert str(new) in line and "the disk is full" in line


def test_an_address_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _refused(tmp_path / "data", port=port)
    assert f"127.0.0.1:{port} is in use" in line and "--port" in line


@pytest.mark.parametrize("command", [["create-manager", "--username", "boss", "--password", "secret-1"],
                                     ["export", "--session", "S"]])
def test_the_other_commands_say_it_in_one_line_too(tmp_path, command):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "spaceinvaders.db").write_bytes(b"not a database" * 100)
    run = subprocess.run([*CLI, *command, "--data-dir", str(data)], check=False, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.startswith("error: ") and "not a database" in run.stderr
