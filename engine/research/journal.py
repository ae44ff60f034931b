"""The study journal: Optuna's journal file, appended without an fsync per record.

Optuna's `JournalFileBackend` calls fsync after every record it appends, and a trial writes about
ten (creation, each parameter, each user attribute, its end): on this kind of disk that is most of
a short trial's time. `JournalFile` takes the same lock around the same appends and hands each
record to the kernel without forcing it to the disk. What a killed process wrote is kept (the
kernel holds it); only a crash of the machine itself can lose the last records or cut the last
one short. Optuna reads a journal whose last line is cut as if that line were missing, but a
record appended after it would join it into one bad line that stops every later read, so each
append first drops a cut last line (README "Studies").
"""

from __future__ import annotations

import json
import os
from typing import Any, BinaryIO

from optuna.storages.journal import JournalFileBackend

_TAIL = 1 << 16  # read backwards in steps of this many bytes


class JournalFile(JournalFileBackend):
    """A `JournalFileBackend` (Optuna's format) whose appends are not fsync'ed and that drops a
    record cut short by a crash before appending."""

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode("utf-8")
        self._lock.acquire()
        try:
            with open(self._file_path, "r+b") as f:
                _drop_cut_record(f)
                f.seek(0, os.SEEK_END)
                f.write(data)
        finally:
            self._lock.release()


def _drop_cut_record(f: BinaryIO) -> None:
    """Truncate what follows the last newline (a record the writer never finished)."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    stop = end
    while stop > 0:
        start = max(0, stop - _TAIL)
        f.seek(start)
        cut = f.read(stop - start).rfind(b"\n")
        if cut >= 0:
            f.truncate(start + cut + 1)
            return
        stop = start
    f.truncate(0)  # not one whole record
