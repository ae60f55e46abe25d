"""validate-config over many files on more than one core.

Checking a file is pure Python work on the file alone, so a run over hundreds of files splits
into contiguous slices: this process checks the first, forked children the others, and each
child sends back its slice's files, findings and quoted lines. Forking shares what this
process has already imported, so a child costs about a millisecond, not a new interpreter's
start-up; below ``MIN_FILES`` even that is not worth it and one file is never slowed down.

A child that fails in any way sends nothing, and this process checks that slice itself: an
unreadable file then raises here, in file order, exactly as a serial run would.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from kctl.config.findings import Report

MIN_FILES = 128  # below this a fork and its pickled answer cost more than half the work
MAX_WORKERS = 2  # start-up and the parent's merge do not parallelise; the bench measures two

CheckFile = Callable[[str, Report], object]


def worker_count(files: Sequence[str], *, stdin: str) -> int:
    """How many processes to check ``files`` with: 1 unless there are many and forking is safe."""
    if len(files) < MIN_FILES or stdin in files or not hasattr(os, "fork"):
        return 1
    wanted = os.environ.get("KCTL_JOBS", "")  # 1 turns it off (bench/compare.py measures both)
    if wanted.isdigit() and int(wanted) >= 1:
        return min(int(wanted), MAX_WORKERS)
    # fork copies only the calling thread; a lock another thread holds would stay held forever
    import threading  # only where many files could be forked over

    if threading.active_count() > 1:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def check_files(files: Sequence[str], report: Report, check: CheckFile, workers: int) -> None:
    """Check ``files`` in order into ``report``, with ``workers`` processes."""
    if workers <= 1:
        for name in files:
            check(name, report)
        return
    import pickle

    size = -(-len(files) // workers)
    slices = [files[i : i + size] for i in range(0, len(files), size)]
    pending: dict[int, int] = {}  # child pid -> read end of its pipe
    try:
        for part in slices[1:]:
            pid, read_end = _fork(part, report.strict, check, pickle.dumps)
            pending[pid] = read_end
        for name in slices[0]:
            check(name, report)
        for pid, part in zip(list(pending), slices[1:], strict=True):
            payload = _read_all(pending.pop(pid))
            os.waitpid(pid, 0)
            if payload:
                files_done, findings, sources, ignored = pickle.loads(payload)
                report.files.extend(files_done)
                report.findings.extend(findings)
                report.sources.update(sources)
                report.ignored += ignored
            else:
                for name in part:
                    check(name, report)
    finally:
        for pid, read_end in pending.items():  # interrupted: no child outlives the run
            os.close(read_end)
            _end(pid)


def _fork(
    part: Sequence[str], strict: bool, check: CheckFile, dumps: Callable[..., bytes]
) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    # the child: nothing it does may run the parent's exit handlers or flush its buffers
    payload = b""
    try:
        os.close(read_end)
        mine = Report(files=[], findings=[], sources={}, strict=strict)
        for name in part:
            check(name, mine)
        payload = dumps((mine.files, mine.findings, mine.sources, mine.ignored), protocol=5)
    except BaseException:  # the parent checks this slice itself and meets the error there
        payload = b""
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view) :]
    finally:
        os._exit(0)


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _end(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
