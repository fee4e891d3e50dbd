def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'modern sample at ' + environ['PATH_INFO'].encode('latin-1')]
