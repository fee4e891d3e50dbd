"""The scenario (scenario.py) in Pyramid, with its CSRF protection on: a
form POST needs the session's token (`GET /csrf` hands it out)."""

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound
from pyramid.response import FileResponse, Response
from pyramid.session import SignedCookieSessionFactory

import scenario


def hello(request):
    return Response("hello from pyramid\n", content_type="text/plain")


def boom(request):
    scenario.fail()


def failed(exc, request):
    """Pyramid has no 500 page of its own: this is how its apps make one."""
    return Response("the view failed: %s\n" % exc, status=500, content_type="text/plain")


def to_hello(request):
    return HTTPFound("/hello")


def cookies(request):
    response = Response("two cookies\n", content_type="text/plain")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    return response


def csrf(request):
    return Response(request.session.get_csrf_token(), content_type="text/plain")


def form(request):
    return Response(scenario.form_text(request.POST["name"], request.POST["colour"]), content_type="text/plain")


def upload(request):
    field = request.POST["upload"]
    return scenario.upload_summary(request.POST["note"], field.filename, field.file.read())


def json_body(request):
    return scenario.json_answer(request.json_body)


def stream(request):
    path = request.path
    chunks = ((chunk + path + "\n").encode() for chunk in scenario.STREAM_CHUNKS)
    return Response(app_iter=chunks, content_type="text/plain")


def file(request):
    return FileResponse(scenario.REPORT, request=request, content_type="text/plain")


def path(request):
    return Response("path: %s\n" % "/".join(request.matchdict["rest"]), content_type="text/plain")


def make_app():
    with Configurator() as config:
        # reissue_time=None: by default (0) Pyramid sends the session cookie
        # again once a new second has begun since it was issued, so whether a
        # response carries Set-Cookie would depend on the clock, not on the
        # server (pyramid/session.py, manage_accessed).
        config.set_session_factory(SignedCookieSessionFactory("not a secret: a test fixture", reissue_time=None))
        config.set_default_csrf_options(require_csrf=True)
        views = [
            ("hello", "/hello", hello, {}),
            ("boom", "/boom", boom, {}),
            ("redirect", "/redirect", to_hello, {}),
            ("cookies", "/cookies", cookies, {}),
            ("csrf", "/csrf", csrf, {}),
            ("form", "/form", form, {}),
            ("upload", "/upload", upload, {"renderer": "json", "require_csrf": False}),
            ("json", "/json", json_body, {"renderer": "json", "require_csrf": False}),
            ("stream", "/stream", stream, {}),
            ("file", "/file", file, {}),
            ("path", "/path/*rest", path, {}),
        ]
        for name, pattern, view, options in views:
            config.add_route(name, pattern)
            config.add_view(view, route_name=name, **options)
        config.add_exception_view(failed, context=RuntimeError)
        return config.make_wsgi_app()


app = make_app()
