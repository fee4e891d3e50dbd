"""Paste Deploy entry points, as the original iiswsgi declared them:

- ``egg:iiswsgi#iis`` (``paste.server_runner`` and ``paste.server_factory``)
  serves the app exactly as ``iiswsgi serve`` would: on stdin, IIS's pipe
  or a listening socket, or on ``bind = HOST:PORT``. The ``[server:...]``
  options are ``serve``'s, with ``_`` for ``-`` (``threads = 4``,
  ``log_file = ...``, ``debug = true``), plus the original's ``log_dir``.
- ``egg:iiswsgi#test_app`` (``paste.app_factory``) is the diagnostic page:
  the WSGI environ as an HTML table.
"""

import html

from iiswsgi import _iiswsgi
from iiswsgi._cli import run

_TRUE = ("1", "true", "yes", "on")
# Named by the ini's [app:...] section, not by server options.
_NOT_SERVER_OPTIONS = ("config", "test-app")


def _serve_argv(global_conf, local_conf):
    """``iiswsgi serve`` arguments for a ``[server:...]`` section."""
    known = dict(_iiswsgi.serve_options())
    for name in _NOT_SERVER_OPTIONS:
        known.pop(name, None)
    where = global_conf.get("__file__", "the Paste Deploy config")
    argv = ["iiswsgi", "serve"]
    for key, value in local_conf.items():
        if key == "log_dir":  # the original's: a folder for iiswsgi.log
            argv += ["--log-file", "%s/iiswsgi.log" % value.rstrip("/\\")]
            continue
        name = key.replace("_", "-")
        if name not in known:
            raise ValueError(
                "%s: the iis server has no option %r; it takes: %s"
                % (where, key, ", ".join(sorted(n.replace("-", "_") for n in known) + ["log_dir"]))
            )
        if known[name]:
            argv += ["--" + name, str(value)]
        elif str(value).strip().lower() in _TRUE:
            argv.append("--" + name)
    return argv


def server_runner(wsgi_app, global_conf, **local_conf):
    """Serves ``wsgi_app`` until the web server or a signal stops it."""
    code = run(_iiswsgi.serve_app, wsgi_app, _serve_argv(global_conf, local_conf))
    if code:
        raise SystemExit(code)


def server_factory(global_conf, **local_conf):
    """The server as a factory: options are checked now, served later."""
    argv = _serve_argv(global_conf, local_conf)

    def serve(wsgi_app):
        code = run(_iiswsgi.serve_app, wsgi_app, argv)
        if code:
            raise SystemExit(code)

    return serve


_PAGE = """<!DOCTYPE html>
<html><head><title>iiswsgi test app</title></head><body>
<h1>iiswsgi test app</h1>
<table border="1">
<tr><th>Key</th><th>Value</th></tr>
%s
</table>
</body></html>
"""


def test_app(environ, start_response):
    """The WSGI environ as an HTML table: what the app would see."""
    rows = "\n".join(
        "<tr><td>%s</td><td>%s</td></tr>" % (html.escape(str(key)), html.escape(repr(value)))
        for key, value in sorted(environ.items())
    )
    body = (_PAGE % rows).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def make_test_app(global_conf, **local_conf):
    return test_app
