"""What the benchmark scenarios share (ci/bench.py, ci/bench_http.py):
the bench app, servers started and stopped, wrk, the sites the emulator
serves, and the table of rows and checks every scenario adds to."""
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from xml.sax.saxutils import quoteattr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, 'target', 'release')
IISWSGI = os.path.join(RELEASE, 'iiswsgi')
FLOOR = os.path.join(RELEASE, 'examples', 'fcgi_floor')
VENV = os.path.join(ROOT, 'target', 'bench-venv')
PYTHON = os.path.join(VENV, 'bin', 'python')
REPEATS = int(os.environ.get('BENCH_REPEATS', '3'))
SECONDS = int(os.environ.get('BENCH_SECONDS', '5'))
WORK = tempfile.mkdtemp(prefix='iiswsgi-bench-')

APP = '''import os, time

def hello(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello, world!']

def sleepy(environ, start_response):
    time.sleep(0.01)
    return hello(environ, start_response)

def upload(environ, start_response):
    read, stream = 0, environ['wsgi.input']
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        read += len(chunk)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(read).encode()]

CHUNK = b'x' * 65536

def download(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(len(CHUNK) * 4096))])
    for _ in range(4096):
        yield CHUNK
'''

# wfastcgi with its Windows-only watcher stubbed (the tests use it too).
WFASTCGI_LINUX = open(os.path.join(ROOT, 'testdata', 'apps', 'wfastcgi_linux.py')).read()

FLUP_SERVER = '''import sys
sys.path.insert(0, sys.argv[2])
from flup.server.fcgi import WSGIServer
import bench_app
WSGIServer(getattr(bench_app, sys.argv[3]), bindAddress=sys.argv[1], multithreaded=True).run()
'''


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_http(url, timeout=30, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(interval)
    raise RuntimeError('no answer from ' + url)


def wait_socket(path, timeout=30):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            raise RuntimeError('no socket at ' + path)
        time.sleep(0.02)


class Process:
    """A server started for one measurement, stopped afterwards."""

    def __init__(self, args, pin=None, env=None, cwd=None):
        if pin is not None:
            args = ['taskset', '-c', str(pin)] + args
        full_env = dict(os.environ, VIRTUAL_ENV=VENV, **(env or {}))
        self.proc = subprocess.Popen(args, env=full_env, cwd=cwd or WORK,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def children(self):
        out = subprocess.run(['pgrep', '-P', str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self):
        try:
            os.killpg(self.proc.pid, 15)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()


def wrk(url, connections, threads=1, pin=None):
    args = ['wrk', '-t%d' % threads, '-c%d' % connections, '-d%ds' % SECONDS, '--latency', url]
    if pin is not None:
        args = ['taskset', '-c', str(pin)] + args
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    p99 = re.search(r'99%\s+([\d.]+)(us|ms|s)', out)
    scale = {'us': 0.001, 'ms': 1.0, 's': 1000.0}[p99.group(2)]
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if errors:
        raise RuntimeError('%s: %s error responses' % (url, errors.group(1)))
    return rps, float(p99.group(1)) * scale


def median(runs):
    if isinstance(runs[0], tuple):
        return tuple(statistics.median(r[i] for r in runs) for i in range(len(runs[0])))
    return statistics.median(runs)


def median_of(measure):
    return median([measure() for _ in range(REPEATS)])


def interleaved(servers, measure, together=True):
    """The medians of REPEATS rounds, each measuring every server once in
    turn (A B C A B C, not A A A B B B): this VM's speed drifts by a third
    over minutes, and a ratio is only worth something when its two sides
    ran in the same state of the machine.

    `servers` maps a name to a function that starts the server and gives
    (stop, target); `measure(target)` gives one run's figure. With
    `together` every server is started once and all run side by side
    (idle but for the one measured); otherwise each is started and stopped
    within its turn (servers that share a socket)."""
    runs = {name: [] for name in servers}
    started = {}
    try:
        if together:
            for name, start in servers.items():
                started[name] = start()
        for _ in range(REPEATS):
            for name, start in servers.items():
                if together:
                    runs[name].append(measure(started[name][1]))
                    continue
                stop, target = start()
                try:
                    runs[name].append(measure(target))
                finally:
                    stop()
    finally:
        for stop, _ in started.values():
            stop()
    return {name: median(values) for name, values in runs.items()}


# --- the sites the emulator serves ----------------------------------------

def site(name, full_path, arguments, app='hello', instances=1, buffer_limit=None):
    """A site folder whose web.config registers one FastCGI application."""
    folder = os.path.join(WORK, 'sites', name)
    write(os.path.join(folder, 'bench_app.py'), APP)
    limit = '' if buffer_limit is None else ' responseBufferLimit="%d"' % buffer_limit
    # wfastcgi opens `Web.config` exactly; IIS (and iiswsgi) match any case.
    write(os.path.join(folder, 'Web.config'), '''<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <handlers>
      <add name="bench" path="*" verb="*" modules="FastCgiModule" scriptProcessor={sp}{limit} />
    </handlers>
    <fastCgi>
      <application fullPath={fp} arguments={args} maxInstances="{n}" instanceMaxRequests="10000000"
                   activityTimeout="600" requestTimeout="600" />
    </fastCgi>
  </system.webServer>
  <appSettings>
    <add key="WSGI_HANDLER" value="bench_app.{app}" />
    <add key="WSGI_RESTART_FILE_REGEX" value="" />
    <add key="PYTHONPATH" value="{folder}" />
  </appSettings>
</configuration>
'''.format(fp=quoteattr(full_path), args=quoteattr(arguments), sp=quoteattr(full_path + ('|' + arguments if arguments else '')),
           n=instances, app=app, folder=folder, limit=limit))
    return folder


def gateways(instances=1, app='hello', buffer_limit=None):
    wrapper = os.path.join(WORK, 'wfastcgi_linux.py')
    write(wrapper, WFASTCGI_LINUX)
    return {
        'iiswsgi': site('iiswsgi-%s-%d' % (app, instances), IISWSGI, 'serve', app, instances, buffer_limit),
        'wfastcgi': site('wfastcgi-%s-%d' % (app, instances), PYTHON, wrapper, app, instances, buffer_limit),
        'floor': site('floor-%d' % instances, FLOOR, '', app, instances, buffer_limit),
    }


def emulate(folder, pin=None):
    port = free_port()
    process = Process([IISWSGI, 'emulate', '--site', folder, '--listen', '127.0.0.1:%d' % port,
                       '--access-log', os.devnull], pin=pin)
    url = 'http://127.0.0.1:%d/' % port
    wait_http(url)
    return process, url


def measure_emulated(folder, connections, pin):
    process, url = emulate(folder, pin=0 if pin else None)
    try:
        return median_of(lambda: wrk(url, connections, pin=1 if pin else None))
    finally:
        process.stop()


# --- scenarios -------------------------------------------------------------

ROWS = []
CHECKS = []


def row(scenario, server, value, unit, ratio_to=None, note=''):
    ROWS.append((scenario, server, value, unit, ratio_to, note))


def check(name, ok, detail):
    CHECKS.append((name, ok, detail))


def app_dir():
    folder = os.path.join(WORK, 'app')
    write(os.path.join(folder, 'bench_app.py'), APP)
    return folder


def transfer(url, upload_file=None):
    args = ['curl', '-s', '-o', os.devnull, '-w', '%{time_total}', '-H', 'Expect:']
    if upload_file:
        # -T streams the file (--data-binary would read all of it first).
        args += ['-T', upload_file, '-X', 'POST', '-H', 'Content-Type: application/octet-stream']
    return float(subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout)


def peak_rss_kib(pids):
    peak = 0
    for pid in pids:
        try:
            with open('/proc/%d/status' % pid) as f:
                peak = max(peak, int(re.search(r'VmHWM:\s+(\d+)', f.read()).group(1)))
        except (OSError, AttributeError):
            pass
    return peak


def machine():
    cpu = 'unknown CPU'
    with open('/proc/cpuinfo') as f:
        match = re.search(r'model name\s*:\s*(.*)', f.read())
        if match:
            cpu = match.group(1)
    return '%s, %d cores, Python %s, %s' % (cpu, os.cpu_count(), sys.version.split()[0], time.strftime('%Y-%m-%d'))


def report():
    print('Machine: %s; medians of %d runs of %d s.\n' % (machine(), REPEATS, SECONDS))
    print('| scenario | server | median | unit | ratio | notes |')
    print('|---|---|---:|---|---:|---|')
    for scenario, server, value, unit, ratio_to, note in ROWS:
        ratio = '%.2fx' % (value / ratio_to) if ratio_to else ''
        print('| %s | %s | %.2f | %s | %s | %s |' % (scenario, server, value, unit, ratio, note))
    print('\n| target | holds | figure |\n|---|---|---|')
    for name, ok, detail in CHECKS:
        print('| %s | %s | %s |' % (name, 'yes' if ok else '**no**', detail))
