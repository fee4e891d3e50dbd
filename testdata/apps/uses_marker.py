import sys
import iiswsgi_marker


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [f'{iiswsgi_marker.MARKER} {sys.prefix}'.encode()]
