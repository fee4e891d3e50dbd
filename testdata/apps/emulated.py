"""WSGI apps for the IIS emulator's tests: process identity, crashes,
streaming with a gate, slow requests, stderr output and forms."""
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
