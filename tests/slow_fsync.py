"""A slow disk for one process: an `LD_PRELOAD` library that makes every fsync and fdatasync take
`SLOW_FSYNC_MS` milliseconds longer (a laptop's disk, macOS's full fsync, a network disk), compiled from
the source below with the C compiler into a directory the caller gives (never kept as a binary).

    env = slow_fsync_env(tmp_dir, milliseconds=20)   # None when there is no C compiler
    ServerProcess(data_dir, program=["env", *env, *CLI, "serve"])

The tests of group commits and `benchmarks/seat_commit.py` use it.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void slow_down(void) {
    const char *text = getenv("SLOW_FSYNC_MS");
    long ns = (text ? atol(text) : 20) * 1000000L;
    struct timespec wait = { ns / 1000000000L, ns % 1000000000L };
    while (nanosleep(&wait, &wait) != 0) {}
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow_down();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow_down();
    return real(fd);
}
"""


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def build_shim(directory: Path) -> Path | None:
    """The shared library, built in `directory`; None without a C compiler."""
    cc = compiler()
    if cc is None:
        return None
    source = directory / "slow_fsync.c"
    library = directory / "slow_fsync.so"
    source.write_text(SOURCE)
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"], check=True,
                   capture_output=True)
    return library


def slow_fsync_env(directory: Path, milliseconds: float) -> list[str] | None:
    """`NAME=value` words for `env` that slow every fsync of the program by `milliseconds`."""
    library = build_shim(directory)
    if library is None:
        return None
    return [f"LD_PRELOAD={library}", f"SLOW_FSYNC_MS={int(milliseconds)}"]
