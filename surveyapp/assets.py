"""Static files under content-hashed names, cache headers, and gzip for what the app sends.

* ``url_for('static', filename='survey.css')`` gives ``/static/survey.<hash>.css``, the
  hash being the first 10 hex digits of the file's SHA-256. Such a URL names one content
  for ever, so it is served with ``Cache-Control: public, max-age=31536000, immutable``:
  a later page costs no request for it. The plain name (``/static/survey.css``) is still
  served, with ``no-cache`` (revalidated by ETag), and so is an outdated hash (a page
  cached before a deploy), also with ``no-cache``, so that no cache keeps the wrong
  content under a name it believes immutable.
* HTML pages get ``Cache-Control: no-store`` unless a view set its own (security.py
  gives every other response without one the same: files, exports and API answers).
* Static files get no session: the cookie is not decoded for them, nothing is saved,
  and so no ``Vary: Cookie`` makes a shared cache keep one copy per visitor.
* Responses of a text type over ``COMPRESS_MIN_BYTES`` are gzipped when the client accepts
  it (``COMPRESS = False`` leaves that to a reverse proxy). Static files are compressed
  once per process and kept, with their hash, until their modification time changes.
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, abort, current_app, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = {"text/html", "text/css", "text/javascript", "application/javascript",
                "application/json", "application/manifest+json", "image/svg+xml", "text/plain",
                "text/csv"}
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class _Asset:
    mtime_ns: int
    size: int
    digest: str
    data: bytes
    gzipped: bytes | None


class _Assets:
    """The static folder's files, read, hashed and compressed on first use."""

    def __init__(self, folder: str):
        self.folder = folder
        self.files: dict[str, _Asset] = {}
        self.lock = threading.Lock()

    def get(self, filename: str) -> _Asset | None:
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if not os.path.isfile(path):
            return None
        asset = self.files.get(filename)
        if asset is None or asset.mtime_ns != stat.st_mtime_ns or asset.size != stat.st_size:
            data = Path(path).read_bytes()
            gzipped = gzip.compress(data, 9, mtime=0) if _compressible(_mimetype(filename)) else None
            asset = _Asset(stat.st_mtime_ns, stat.st_size, hashlib.sha256(data).hexdigest()[:10],
                           data, gzipped if gzipped and len(gzipped) < len(data) else None)
            with self.lock:
                self.files[filename] = asset
        return asset


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS", True)
    app.config.setdefault("COMPRESS_MIN_BYTES", 500)
    app.extensions["surveyapp.assets"] = _Assets(app.static_folder)
    app.url_defaults(_hashed_static_name)
    app.view_functions["static"] = _static
    app.after_request(_cache_and_compress)
    app.session_interface = _NoSessionForStatic()


class _NoSessionForStatic(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except under the static URL path.

    Flask-Login's after-request hook looks into the session on every request, which
    would verify the cookie and add ``Vary: Cookie`` to every static file. There a
    request gets an empty session that is never saved: a static file has no business
    with the visitor's session, and saving an empty one would log them out.
    """

    def open_session(self, app, request):
        if _static_path(app, request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if _static_path(app, request.path):
            return
        super().save_session(app, session, response)


def _static_path(app: Flask, path: str) -> bool:
    return app.static_url_path is not None and path.startswith(app.static_url_path + "/")


def hashed_name(filename: str) -> str:
    """``survey.css`` -> ``survey.<hash>.css`` (the name unchanged if there is no such file)."""
    asset = current_app.extensions["surveyapp.assets"].get(filename)
    if asset is None:
        return filename
    stem, dot, suffix = filename.rpartition(".")
    if not dot or "/" in suffix:
        return f"{filename}.{asset.digest}"
    return f"{stem}.{asset.digest}.{suffix}"


def _hashed_static_name(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = hashed_name(values["filename"])


def _static(filename: str):
    assets = current_app.extensions["surveyapp.assets"]
    asset, cache = assets.get(filename), "no-cache"
    if asset is None:
        match = _HASHED.match(filename)
        if match is None:
            abort(404)
        asset = assets.get(match["stem"] + match["suffix"]) or abort(404)
        if asset.digest == match["hash"]:
            cache = IMMUTABLE
    gzip_it = asset.gzipped is not None and _accepts_gzip()
    response = current_app.response_class(asset.gzipped if gzip_it else asset.data,
                                          mimetype=_mimetype(filename))
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Accept-Encoding"
    if gzip_it:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(asset.digest + ("-gz" if gzip_it else ""))
    return response.make_conditional(request)


def _mimetype(filename: str) -> str:
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return "text/javascript" if kind == "application/javascript" else kind


def _compressible(mimetype: str) -> bool:
    return mimetype in COMPRESSIBLE or mimetype.startswith("text/")


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def _cache_and_compress(response):
    if response.mimetype == "text/html":
        # Pages carry survey data (answers, counts): never stored, not even to revalidate.
        response.headers.setdefault("Cache-Control", "no-store")
    config = current_app.config
    if (not config["COMPRESS"] or response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers or not _compressible(response.mimetype)
            or request.method == "HEAD"):
        return response
    response.vary.add("Accept-Encoding")
    if not _accepts_gzip():
        return response
    data = response.get_data()
    if len(data) < config["COMPRESS_MIN_BYTES"]:
        return response
    # Level 6: nearly level 9's size for a page at a fraction of its time.
    response.set_data(gzip.compress(data, 6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    if response.get_etag()[0]:
        response.set_etag(response.get_etag()[0] + "-gz", weak=response.get_etag()[1])
    return response
