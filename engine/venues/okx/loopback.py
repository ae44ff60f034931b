"""A stdlib HTTP server on loopback in a daemon thread: the life cycle the local OKX servers share
(`fake_rest.FakeOkxRest` for the download tests, `sim_rest.SimRest` for the simulator)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class LoopbackHttp:
    """Start, stop, the base URL and `with` for a ThreadingHTTPServer served in a daemon thread."""

    name = "local OKX server"  # in the thread's name and the not-running error

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler], host: str, port: int) -> str:
        """Listen on `host:port` (0: a free port) with `handler` and serve; returns the base URL."""
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=self.name.replace(" ", "-"), daemon=True)
        self._thread.start()
        return self.url

    def start(self) -> str:
        """Listen and serve (each server knows its handler and address); returns the base URL."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """The base URL, `http://host:port` (a RuntimeError when not started)."""
        if self._server is None:
            raise RuntimeError(f"the {self.name} is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
