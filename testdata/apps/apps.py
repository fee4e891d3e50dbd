"""WSGI apps the integration tests serve, one behaviour each."""
import json
import sys
import time
import wsgiref.validate


def hello(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello, world!']


class Callable:
    def __call__(self, environ, start_response):
        start_response('200', [('Content-Type', 'text/plain')])
        return [b'callable instance']


callable_instance = Callable()


def echo(environ, start_response):
    """The environ (strings only) and the request body, as JSON."""
    body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))
    data = {k: v for k, v in environ.items() if isinstance(v, str)}
    data['body'] = body.decode('latin-1')
    data['wsgi.version'] = list(environ['wsgi.version'])
    data['wsgi.multithread'] = environ['wsgi.multithread']
    data['wsgi.multiprocess'] = environ['wsgi.multiprocess']
    data['wsgi.run_once'] = environ['wsgi.run_once']
    data['wsgi.input_terminated'] = environ['wsgi.input_terminated']
    for raw in ('wsgi.path_info', 'wsgi.script_name', 'wsgi.query_string'):
        data[raw] = environ[raw].decode('latin-1')
    data['sys.prefix'] = sys.prefix
    out = json.dumps(data, sort_keys=True).encode()
    start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(out)))])
    return [out]


def lines(environ, start_response):
    """Reads the body with readline/iteration and reports each line."""
    inp = environ['wsgi.input']
    first = inp.readline()
    limited = inp.readline(3)
    rest = list(inp)
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps([first.decode(), limited.decode()] + [r.decode() for r in rest]).encode()]


def big(environ, start_response):
    """3 MB in 64 KiB chunks, a known pattern."""
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    chunk = bytes(range(256)) * 256
    for _ in range(3 * 1024 * 1024 // len(chunk)):
        yield chunk


def count_upload(environ, start_response):
    """Reads the body in pieces and answers its length and a checksum."""
    inp = environ['wsgi.input']
    total, checksum = 0, 0
    while True:
        block = inp.read(65536)
        if not block:
            break
        total += len(block)
        checksum = (checksum + sum(block)) % 1000000007
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [f'{total} {checksum}'.encode()]


def raises(environ, start_response):
    raise RuntimeError('boom from the app')


def bad_header(environ, start_response):
    start_response('200 OK', [('X-Split', 'a\r\nSet-Cookie: evil=1')])
    return [b'never']


def twice(environ, start_response):
    start_response('200 OK', [])
    start_response('200 OK', [])
    return [b'never']


def body_first(environ, start_response):
    return [b'body before start_response']


def error_after_body(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    yield b'first chunk'
    raise ValueError('failed mid-stream')


def exc_info_replaces(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    try:
        raise KeyError('x')
    except KeyError:
        start_response('500 Oops', [('Content-Type', 'text/plain')], sys.exc_info())
    return [b'replaced']


def writer(environ, start_response):
    write = start_response('200 OK', [('Content-Type', 'text/plain')])
    write(b'written ')
    return [b'and returned']


def prints(environ, start_response):
    print('to stdout')
    print('to stderr', file=sys.stderr)
    environ['wsgi.errors'].write('to wsgi.errors\n')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'printed']


CLOSED = []


class Tracked:
    def __init__(self, count, delay):
        self.count, self.delay = count, delay

    def __iter__(self):
        for i in range(self.count):
            time.sleep(self.delay)
            yield b'%d\n' % i

    def close(self):
        CLOSED.append(1)


def slow(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return Tracked(int(environ.get('QUERY_STRING') or 5), 0.2)


def closed(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(len(CLOSED)).encode()]


def file_wrapper(environ, start_response):
    import io
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return environ['wsgi.file_wrapper'](io.BytesIO(b'x' * 100000), 4096)


def make_app():
    return hello


def _validated(app):
    return wsgiref.validate.validator(app)


validated_hello = _validated(hello)
validated_echo = _validated(echo)
validated_writer = _validated(writer)
validated_lines = _validated(lines)
validated_file_wrapper = _validated(file_wrapper)


def slow_or_closed(environ, start_response):
    """`/closed` counts closed iterables; anything else is `slow`."""
    if environ['PATH_INFO'] == '/closed':
        return closed(environ, start_response)
    return slow(environ, start_response)


def count_bytes(environ, start_response):
    """Reads the body in 1 MiB blocks and answers only its length."""
    inp, total = environ['wsgi.input'], 0
    while True:
        block = inp.read(1 << 20)
        if not block:
            break
        total += len(block)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(total).encode()]


def exc_info_after_body(environ, start_response):
    """exc_info once headers are out: start_response must re-raise it."""
    start_response('200 OK', [('Content-Type', 'text/plain')])
    yield b'sent'
    try:
        raise KeyError('the original error')
    except KeyError:
        start_response('500 Oops', [], sys.exc_info())
    yield b'never reached'


def lenient_headers(environ, start_response):
    """wfastcgi accepts headers as any iterable of pairs."""
    start_response('200', ((name, value) for name, value in (('Content-Type', 'text/plain'), ('X-Lenient', 'yes'))))
    return [b'lenient']


HUGE_CHUNK = b'y' * 65536


def huge_download(environ, start_response):
    """256 MiB yielded as fast as Python can: the gateway must not gather it."""
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return (HUGE_CHUNK for _ in range(4096))


def gated_stream(environ, start_response):
    """Yields chunk i, then waits for the client to create the file
    QUERY_STRING/i: proof that every chunk reaches the client before the
    next is made (no buffering on the way)."""
    import os
    gates = environ['QUERY_STRING']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    for i in range(5):
        yield b'chunk %d\n' % i
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(gates, str(i))):
            if time.time() > deadline:
                yield b'the client never read chunk %d\n' % i
                return
            time.sleep(0.01)


def returns_str(environ, start_response):
    """The commonest WSGI mistake: a str for the body."""
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return 'Hello, world!'


def yields_str(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    yield b'fine so far, '
    yield 'then a str'


def header_int(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Count', 3)])
    return [b'never sent']


def latin1_header(environ, start_response):
    """A reason phrase and a header value outside ASCII, as PEP 3333 allows
    (native strings are latin-1): the client must get these very bytes."""
    start_response('200 Tr\xe8s bien', [('Content-Type', 'text/plain'), ('X-Name', 'caf\xe9')])
    return [b'ok']


def declared_length(environ, start_response):
    """Five bytes, with the Content-Length the query's ``n`` declares,
    right or wrong: the server must hold the body to it (or drop a value
    that is not a number), never let it break the connection's framing.
    Whole, or with ``s`` in the query streamed in two chunks."""
    query = dict(p.partition('=')[::2] for p in environ.get('QUERY_STRING', '').split('&'))
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', query.get('n', ''))])
    if 's' in query:
        return (chunk for chunk in (b'hel', b'lo'))
    return [b'hello']
