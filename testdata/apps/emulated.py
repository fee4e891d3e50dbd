"""WSGI apps for the IIS emulator's tests: process identity, crashes,
streaming with a gate, slow requests, stderr output, forms and clients
that vanish."""
import json
import os
import time
import urllib.parse

none_handler = None


def _query(environ):
    return dict(urllib.parse.parse_qsl(environ.get('QUERY_STRING', '')))


def pid(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(os.getpid()).encode()]


def crash(environ, start_response):
    """Exits the process mid-request, as a segfaulting extension would."""
    if _query(environ).get('crash') == '1':
        os._exit(3)
    return pid(environ, start_response)


def gated(environ, start_response):
    """Yields one chunk, waits until the file named by ?gate= exists, then
    yields the second."""
    gate = _query(environ)['gate']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    yield b'first chunk\n'
    deadline = time.time() + 30
    while not os.path.exists(gate) and time.time() < deadline:
        time.sleep(0.01)
    yield b'second chunk\n'


def sleepy(environ, start_response):
    time.sleep(float(_query(environ).get('seconds', '1')))
    return pid(environ, start_response)


def environ_and_process(environ, start_response):
    """The WSGI environ's strings and, under `os.environ`, the process
    environment IIS built from <environmentVariables>."""
    data = {k: v for k, v in environ.items() if isinstance(v, str)}
    data['os.environ'] = dict(os.environ)
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps(data).encode()]


def form(environ, start_response):
    length = int(environ.get('CONTENT_LENGTH') or 0)
    fields = urllib.parse.parse_qs(environ['wsgi.input'].read(length).decode())
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [' '.join('%s=%s' % (k, ','.join(v)) for k, v in sorted(fields.items())).encode()]


def vanishing_client(environ, start_response):
    """For clients that go away mid-request. POST reads the whole body and
    answers `PID LENGTH` (a failed read is written to the file ?error=);
    GET ?gate=G&closed=C streams a chunk, waits for
    the file G, then streams until its iterable is closed, which creates
    the file C; any other GET answers the pid."""
    query = _query(environ)
    if environ['REQUEST_METHOD'] == 'POST':
        length = 0
        while True:
            try:
                block = environ['wsgi.input'].read(65536)
            except OSError as error:
                with open(query['error'], 'w') as out:
                    out.write(f'{type(error).__name__} after {length} bytes')
                raise
            if not block:
                break
            length += len(block)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [f'{os.getpid()} {length}'.encode()]
    if 'gate' in query:
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return _stream_until_closed(query['gate'], query['closed'])
    return pid(environ, start_response)


def _stream_until_closed(gate, closed):
    try:
        yield b'first chunk\n'
        deadline = time.time() + 30
        while not os.path.exists(gate) and time.time() < deadline:
            time.sleep(0.01)
        deadline = time.time() + 30
        while time.time() < deadline:
            yield b'more\n'
            time.sleep(0.01)
    except GeneratorExit:
        open(closed, 'w').close()
        raise


_MIB = bytes(range(256)) * 4096


def platform(environ, start_response):
    """One app for the HttpPlatformHandler and ANCM tests, by path:
    /pid, /crash (the process exits), /sleepy?seconds=, /environ,
    /upload (answers `LENGTH SUM`), /download?mib=N (N MiB of 0..255),
    /stream?GATES (apps.gated_stream)."""
    path = environ['PATH_INFO'].rsplit('/', 1)[-1]
    if path == 'stream':
        import apps
        return apps.gated_stream(environ, start_response)
    if path == 'crash':
        os._exit(3)
    if path == 'sleepy':
        return sleepy(environ, start_response)
    if path == 'environ':
        return environ_and_process(environ, start_response)
    if path == 'upload':
        total = checksum = 0
        while True:
            block = environ['wsgi.input'].read(1 << 20)
            if not block:
                break
            total += len(block)
            checksum = (checksum + sum(block)) % 1_000_000_007
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [f'{total} {checksum}'.encode()]
    if path == 'download':
        mib = int(_query(environ).get('mib', '1'))
        start_response('200 OK', [('Content-Type', 'application/octet-stream'), ('Content-Length', str(mib << 20))])
        return (_MIB for _ in range(mib))
    return pid(environ, start_response)


def which_gateway(environ, start_response):
    """The type of the gateway's wsgi.input: who serves this app
    (`iiswsgi.Input`, or wfastcgi's `_io.BytesIO`)."""
    kind = type(environ['wsgi.input'])
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s.%s' % (kind.__module__, kind.__qualname__)).encode()]
