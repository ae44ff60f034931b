"""An input file as the formats see it: decompressed, counted for the progress bar, and cut at
its last complete line when a `.gz` or `.zip` ends early or is damaged part-way.

A torn archive is common: a download cut short, a recorder killed mid-write. What was read
before the tear is kept, but never a half line (a price cut from `12345.6` to `123` would be a
wrong value, not a bad one), and the source says it was torn (`Source.torn`).
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from engine.model.errors import UserError

HEAD_BYTES = 1 << 16
_BLOCK = 1 << 20
_DAMAGE = (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile)
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip member's local file header (30 bytes)


class _Counting(io.RawIOBase):
    """Counts bytes read from the file on disk, to drive a progress bar."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], object] | None) -> None:
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # zip archives seek to their directory

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if count and self._on_bytes is not None:
            self._on_bytes(count)
        return int(count or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Inflating(io.RawIOBase):
    """The raw deflate (or stored) data of a zip member read straight from its local header, for
    an archive whose directory at the end is missing; ends early with EOFError like gzip."""

    def __init__(self, raw: IO[bytes], method: int) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out:
            chunk = self._raw.read(_BLOCK)
            if self._inflate is None:
                self._out = chunk
                break
            if self._inflate.eof:
                return 0
            if not chunk:
                raise EOFError("the zip member ends before its end-of-stream marker")
            self._out = self._inflate.decompress(chunk)
        count = min(len(buffer), len(self._out))
        buffer[:count] = self._out[:count]
        self._out = self._out[count:]
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Intact(io.RawIOBase):
    """A decompressed stream handed on line by line-aligned blocks: when the archive turns out torn,
    the partial line after the last newline is dropped and `on_torn` hears what went wrong."""

    def __init__(self, inner: IO[bytes], on_torn: Callable[[BaseException], None]) -> None:
        self._inner, self._on_torn = inner, on_torn
        self._ready = memoryview(b"")
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._ready) and not self._eof:
            self._fill()
        count = min(len(buffer), len(self._ready))
        buffer[:count] = self._ready[:count]
        self._ready = self._ready[count:]
        return count

    def _fill(self) -> None:
        try:
            # read1: a buffered read() would drop what it decompressed before the damage
            chunk = self._inner.read1(_BLOCK) if hasattr(self._inner, "read1") else self._inner.read(_BLOCK)
        except _DAMAGE as exc:
            self._eof, self._pending = True, b""
            self._on_torn(exc)
            return
        if not chunk:
            self._eof, self._ready, self._pending = True, memoryview(self._pending), b""
            return
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        self._ready, self._pending = memoryview(data)[:cut], data[cut:]

    def close(self) -> None:
        self._inner.close()
        super().close()


class Source:
    """An input file, transparently gunzipped or unzipped (one member), with its first bytes.

    `torn` is None, or what was wrong with an archive that ends early or is damaged: then the
    content read is what came before the damage, up to its last complete line.
    """

    def __init__(self, path: Path, on_bytes: Callable[[int], object] | None = None) -> None:
        self.path = path
        self.on_bytes = on_bytes
        self.torn: str | None = None
        if path.is_dir():
            raise UserError(f"{path}: is a folder, not a file")
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        self.size = path.stat().st_size
        if self.size == 0:
            raise UserError(f"{path}: the file is empty")
        with path.open("rb") as handle:
            magic = handle.read(4)
        self.compression = "gzip" if magic[:2] == b"\x1f\x8b" else "zip" if magic == b"PK\x03\x04" else ""
        self._member, self._local = self._zip_member() if self.compression == "zip" else ("", None)
        self.name = self._inner_name()
        with self.open(count=False) as stream:
            self.head = stream.read(HEAD_BYTES)
        if not self.head.strip():
            if self.torn:
                raise UserError(f"{path}: {self.torn}, before the end of its first line: nothing in it can be read")
            raise UserError(f"{path}: holds no data (only blank lines)")

    def _inner_name(self) -> str:
        if self.compression == "gzip":
            return self.path.name.removesuffix(".gz").removesuffix(".gzip")
        if self.compression == "zip":
            return Path(self._member).name
        return self.path.name

    def _zip_member(self) -> tuple[str, tuple[int, int] | None]:
        """The member's name; for a torn archive (no directory) also (data offset, method)."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX")]
        except zipfile.BadZipFile:
            return self._local_member()
        if len(names) != 1:
            raise UserError(f"{self.path}: a zip file must hold exactly one data file, found {len(names)}")
        return names[0], None

    def _local_member(self) -> tuple[str, tuple[int, int]]:
        with self.path.open("rb") as handle:
            header = handle.read(_LOCAL_HEADER.size)
            fields = _LOCAL_HEADER.unpack(header) if len(header) == _LOCAL_HEADER.size else None
            name = handle.read(fields[9]) if fields else b""
        if fields is None or fields[3] not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UserError(f"{self.path}: a zip archive torn before its first member could be read")
        return name.decode("utf-8", errors="replace"), (_LOCAL_HEADER.size + fields[9] + fields[10], fields[3])

    def open(self, count: bool = True) -> IO[bytes]:
        """The decompressed content as a binary stream (up to the tear, for a torn archive)."""
        raw = io.BufferedReader(_Counting(self.path.open("rb"), self.on_bytes if count else None), _BLOCK)
        if self.compression == "gzip":
            inner: IO[bytes] = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        elif self.compression == "zip" and self._local is None:
            inner = zipfile.ZipFile(raw).open(self._member)  # noqa: SIM115 - closed by the caller
        elif self.compression == "zip":
            assert self._local is not None
            raw.seek(self._local[0])
            inner = _Inflating(raw, self._local[1])  # type: ignore[assignment]
            self._torn(zipfile.BadZipFile("directory missing"))
        else:
            return raw
        return io.BufferedReader(_Intact(inner, self._torn), _BLOCK)

    def _torn(self, exc: BaseException) -> None:
        kind = "zip" if self.compression == "zip" else "gzip"
        if isinstance(exc, EOFError):
            self.torn = f"the {kind} data ends early"
        elif isinstance(exc, zipfile.BadZipFile) and "directory" in str(exc):
            self.torn = self.torn or "the zip archive's directory at its end is missing"
        elif self.torn is None or "directory" in self.torn:
            self.torn = f"the {kind} data is damaged ({exc})"

    def read(self) -> bytes:
        """The whole decompressed content."""
        with self.open() as stream:
            return stream.read()

    def lines(self) -> Iterator[bytes]:
        """Non-blank lines, stripped."""
        with self.open() as stream:
            for line in stream:
                line = line.strip()
                if line:
                    yield line

    def head_text(self) -> str:
        return self.head.decode("utf-8", errors="replace").lstrip("\ufeff")

    def first_line(self) -> str:
        return self.head_text().lstrip().split("\n", 1)[0].strip()
