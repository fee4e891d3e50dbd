"""The smallest WSGI app: what `iiswsgi serve` runs in the README."""


def application(environ, start_response):
    body = b'Hello from iiswsgi at ' + environ['PATH_INFO'].encode('latin-1') + b'\n'
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
