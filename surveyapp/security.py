"""Response headers every page gets, and friendly pages for errors."""
from flask import Flask, render_template, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from flask_babel import gettext as _

# No 'unsafe-inline': every style and script is a file under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def init_app(app: Flask) -> None:
    if app.config["PROXY_COUNT"]:
        # Behind a reverse proxy: trust that many X-Forwarded-* hops, so rate limits see
        # the client's address and links on flyers use the public scheme and host.
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.before_request(_replace_nul_characters)
    app.after_request(_headers)
    if app.config.get("ENV") == "production":
        app.after_request(_strict_transport_security)
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)


def _replace_nul_characters():
    """Replace NUL in every query and form key and value with U+FFFD before views read them.

    A browser sends NUL only as a typed-in %00; it is never meaningful text, and PostgreSQL
    refuses it in any text parameter (a DataError, i.e. a 500, from a filter or a name).
    U+FFFD is what werkzeug already puts for bytes that are not UTF-8: the text stays
    visibly marked (a name does not silently change), an odd code still finds nothing.
    """
    for name in ("args", "form"):
        values = getattr(request, name)
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            # werkzeug's cached_property accepts assignment: later reads see the clean copy
            setattr(request, name, ImmutableMultiDict(
                [(key.replace("\x00", "\ufffd"), value.replace("\x00", "\ufffd"))
                 for key, value in values.items(multi=True)]))


def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Survey URLs carry a resume code: never send them to another site.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages, files and API answers carry survey data (answers, counts, resume codes): no
    # cache, shared or the browser's own, may keep a copy ("no-cache" still stores one and
    # only revalidates). Static files and the views that say otherwise set their own.
    response.headers.setdefault("Cache-Control", "no-store")
    if response.headers.get("Content-Disposition", "").startswith("attachment"):
        # send_file says "no-cache" of its own accord: a downloaded export is data too.
        response.headers["Cache-Control"] = "no-store"
    return response


def _strict_transport_security(response):
    # Production cookies are Secure: tell browsers to never try plain HTTP for a year.
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _error_page(error):
    code = getattr(error, "code", 500) or 500
    # The exception's own headers carry meaning (Allow on a 405, Retry-After on a 429, as
    # RFC 9110 requires); only its text/html content type is replaced by the page's own.
    headers = [(name, value) for name, value in
               (error.get_headers() if hasattr(error, "get_headers") else [])
               if name.lower() not in {"content-type", "content-length"}]
    if request.path.startswith("/api/"):
        return {"error": getattr(error, "name", "error"), "message": error_message(code)}, code, headers
    template = "staff/error.html" if _in_staff_pages() else "error.html"
    return render_template(template, code=code, message=error_message(code)), code, headers


def _in_staff_pages() -> bool:
    """A signed-in user on a staff page: the error page keeps the staff navigation."""
    from flask_login import current_user
    return (request.path.startswith("/staff/") and current_user.is_authenticated
            and request.blueprint != "surveys")


def error_message(code: int) -> str:
    return {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have permission to open this page."),
        404: _("This page does not exist. Please check the link."),
        405: _("This page cannot be used that way."),
        413: _("What you sent is too large."),
        429: _("Too many requests. Please wait a minute and try again."),
        500: _("Something went wrong on our side. What you had saved is safe; please try again."),
    }.get(code, _("Something went wrong."))
