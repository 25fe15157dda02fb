"""Static files and Dash's JSON compressed, and cached as long as their address says.

A visit to the Data page downloads about 4 MB of scripts and styles; gzip makes that about a
quarter, which is what a remote office on a VPN waits for. The standard library's gzip does
it (brotli would need a new dependency for a few per cent more). Each file is compressed
once per worker process and kept; Dash's callback answers are compressed as they go.

Caching: a file whose address carries its version (Dash's fingerprinted component suites,
``/assets/...?m=<mtime>``, the icon font's ``?<hash>``) never changes under that address, so
the browser keeps it a year without asking again (``immutable``); any other file is
revalidated on each use (``no-cache`` with its ETag: a 304 when unchanged).
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Below this a response is not worth compressing (it fits a packet or two anyway).
MIN_SIZE = 1024
# Bodies over this are passed as they are (nothing Dash or the assets send comes near).
MAX_SIZE = 16 * 1024 * 1024
CACHE_BYTES = 32 * 1024 * 1024
COMPRESSIBLE = re.compile(
    r"(text/|application/(javascript|x-javascript|json|xml)|image/(svg\+xml|x-icon|vnd\.microsoft\.icon))"
)
# Dash's fingerprint: name.v<version>m<modified>.ext (dash.fingerprint).
FINGERPRINT = re.compile(r"v[\w-]+m[0-9a-fA-F]+")
VERSION_QUERY = re.compile(r"(m=[0-9.]+|v=[\w.-]+|[0-9a-fA-F]{8,})")
SUFFIX = "-gzip"


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip;q=0`` does not)."""
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = re.search(r"q\s*=\s*([0-9.]+)", params)
            return not q or float(q.group(1) or 0) > 0
    return False


def is_versioned(path: str, query: str) -> bool:
    """Whether the address of a static file names its version (so its content never changes)."""
    parts = path.rsplit("/", 1)[-1].split(".")
    if len(parts) > 2 and FINGERPRINT.fullmatch(parts[1]):
        return True
    return bool(query) and VERSION_QUERY.fullmatch(query) is not None


def header(headers: Headers, name: str) -> str | None:
    """The value of header ``name`` (case-insensitive), or None."""
    low = name.lower()
    return next((v for k, v in headers if k.lower() == low), None)


def replace_header(headers: Headers, name: str, value: str | None) -> Headers:
    """``headers`` with ``name`` set to ``value`` (removed when None)."""
    low = name.lower()
    out = [(k, v) for k, v in headers if k.lower() != low]
    return out if value is None else [*out, (name, value)]


def add_vary(headers: Headers) -> Headers:
    """``headers`` saying that the body depends on ``Accept-Encoding``."""
    vary = header(headers, "Vary")
    if vary and "accept-encoding" in vary.lower():
        return headers
    return replace_header(
        headers, "Vary", f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    )


def gzip_etag(etag: str) -> str:
    """The ETag of the gzip form of a body with ``etag`` (strong ETags differ per encoding)."""
    return etag[:-1] + SUFFIX + '"' if etag.endswith('"') else etag + SUFFIX


def plain_etags(if_none_match: str) -> str:
    """``If-None-Match`` with our gzip suffix taken off, as the app knows its ETags."""
    return if_none_match.replace(SUFFIX + '"', '"')


class Compression:
    """WSGI middleware: gzip and cache headers for static files, gzip for Dash's JSON.

    Only whole bodies with a ``Content-Length`` are compressed: a streamed download (the CSV
    and XLSX exports) has none and passes through untouched, as does anything already
    encoded, too small, not text, or asked for without gzip. Pages and the layout are left
    as they are: they may carry a session's form token, which compression and reflected
    input could leak (BREACH).
    """

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]], prefix: str):
        """Wrap ``app`` serving under the URL ``prefix`` (``/`` or ``/a/b/``)."""
        self.app = app
        self.static = (f"{prefix}assets/", f"{prefix}_dash-component-suites/", f"{prefix}_favicon")
        self.json = (f"{prefix}_dash-update-component", f"{prefix}_dash-dependencies")
        self._cache: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        path = environ.get("PATH_INFO", "")
        static = path.startswith(self.static)
        if not static and not path.startswith(self.json):
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        gzip_ok = (
            environ.get("REQUEST_METHOD") in ("GET", "POST")
            and "HTTP_RANGE" not in environ
            and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        )
        asked = environ.get("HTTP_IF_NONE_MATCH", "")
        if static and SUFFIX in asked:  # the browser holds our gzip form: ask the app plainly
            environ["HTTP_IF_NONE_MATCH"] = plain_etags(asked)
        held: dict[str, Any] = {}

        def start(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], Any]:
            if static:
                cache = IMMUTABLE if is_versioned(path, query) else REVALIDATE
                headers = add_vary(replace_header(headers, "Cache-Control", cache))
            if gzip_ok and self._compressible(status, headers):
                held.update(status=status, headers=headers)
                return self._no_write
            etag = header(headers, "ETag")
            if static and SUFFIX in asked and status.startswith("304") and etag:
                headers = replace_header(headers, "ETag", gzip_etag(etag))  # the one it holds
            return start_response(status, headers, exc_info)  # type: ignore[no-any-return]

        body = self.app(environ, start)
        if not held:
            return body
        headers: Headers = held["headers"]
        key = (path, query, header(headers, "ETag") or "", header(headers, "Content-Length") or "")
        packed = self._cached(key) if static else None
        if packed is None:
            try:
                data = b"".join(body)
            finally:
                getattr(body, "close", lambda: None)()
            packed = gzip.compress(data, compresslevel=6 if static else 5, mtime=0)
            if static:
                self._keep(key, packed)
        else:
            getattr(body, "close", lambda: None)()
        etag = header(headers, "ETag")
        headers = replace_header(headers, "ETag", gzip_etag(etag) if etag else None)
        headers = replace_header(headers, "Content-Length", str(len(packed)))
        headers = add_vary(replace_header(headers, "Content-Encoding", "gzip"))
        start_response(held["status"], headers)
        return [packed]

    @staticmethod
    def _no_write(data: bytes) -> None:
        """The ``write`` of a held response (Flask never writes; a body is returned)."""
        raise RuntimeError("write() is not supported on a response being compressed")

    @staticmethod
    def _compressible(status: str, headers: Headers) -> bool:
        """Whether a response with ``status`` and ``headers`` should go out gzipped."""
        length = header(headers, "Content-Length")
        kind = header(headers, "Content-Type") or ""
        return (
            status.startswith("200")
            and header(headers, "Content-Encoding") is None
            and length is not None
            and length.isdigit()
            and MIN_SIZE <= int(length) <= MAX_SIZE
            and COMPRESSIBLE.match(kind) is not None
        )

    def _cached(self, key: tuple[str, ...]) -> bytes | None:
        """The compressed body kept for ``key``, if any."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _keep(self, key: tuple[str, ...], packed: bytes) -> None:
        """Keep a compressed file, dropping the least recently used past ``CACHE_BYTES``."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = packed
                self._cached_bytes += len(packed)
            while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached_bytes -= len(old)
