"""A slow disk for one process: an `LD_PRELOAD` library that makes every fsync and fdatasync take
`SLOW_FSYNC_MS` milliseconds longer (a laptop's disk, macOS's full fsync, a network disk), compiled from
the source below with the C compiler into a directory the caller gives (never kept as a binary).

    env = slow_fsync_env(tmp_dir, milliseconds=20)   # None when there is no C compiler (count=path: fsyncs)
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
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t opened = PTHREAD_ONCE_INIT;
static int count_fd = -1;

static void open_count(void) {
    const char *path = getenv("SLOW_FSYNC_COUNT");
    if (path) count_fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
}

static void slow_down(void) {
    pthread_once(&opened, open_count);
    if (count_fd >= 0) { char one = 1; if (write(count_fd, &one, 1) < 0) {} }  /* its size: the syncs */
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
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl", "-lpthread"],
                   check=True, capture_output=True)
    return library


def slow_fsync_env(directory: Path, milliseconds: float, count: Path | None = None) -> list[str] | None:
    """`NAME=value` words for `env` that slow every fsync of the program by `milliseconds`; with `count`,
    each one also adds a byte to that file (its size is the number of fsyncs)."""
    library = build_shim(directory)
    if library is None:
        return None
    words = [f"LD_PRELOAD={library}", f"SLOW_FSYNC_MS={int(milliseconds)}"]
    return [*words, f"SLOW_FSYNC_COUNT={count}"] if count else words
