"""Apps that keep request objects past their request, as real frameworks do
(an exception kept for logging holds the frame, and so start_response).

`/keep` keeps start_response, write, wsgi.input (unread) and wsgi.errors,
and answers 404 like Flask's not-found page; `/late` uses what `/keep` kept
and reports, as JSON, what each use did, then reads its own body.
"""

import json

_KEPT = {}
_TRACEBACKS = []


def minimal(environ, start_response):
    """The issue's reproduction: the kept traceback keeps this frame alive."""
    try:
        raise KeyError("x")
    except KeyError as e:
        _TRACEBACKS.append(e)
        start_response("404 NOT FOUND", [("Content-Type", "text/plain")])
        return [b"nf"]


def _outcome(call):
    try:
        result = call()
    except Exception as e:  # noqa: BLE001 - the test wants every kind
        return "%s: %s" % (type(e).__name__, e)
    return "returned %r" % (result,)


def application(environ, start_response):
    if environ["PATH_INFO"] == "/keep":
        write = start_response("404 NOT FOUND", [("Content-Type", "text/plain")])
        _KEPT.update(
            start_response=start_response,
            write=write,
            input=environ["wsgi.input"],
            errors=environ["wsgi.errors"],
        )
        return [b"nf"]
    kept = _KEPT
    report = {
        "start_response": _outcome(lambda: kept["start_response"]("200 OK", [])),
        "start_response_again": _outcome(lambda: kept["start_response"]("200 OK", [])),
        "write": _outcome(lambda: kept["write"](b"into the next request?")),
        "input_read": _outcome(lambda: kept["input"].read()),
        "input_readline": _outcome(lambda: kept["input"].readline()),
        "errors": _outcome(lambda: kept["errors"].write("a kept wsgi.errors still logs\n")),
        "own_body": environ["wsgi.input"].read().decode("latin-1"),
    }
    body = json.dumps(report, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
