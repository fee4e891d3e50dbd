"""The benchmark driver behind ci/bench: runs each scenario against its
peers, repeats it, and prints a markdown table of medians and ratios.

Every figure that matters is a ratio between two servers measured in the
same run, on the same machine, Python and app."""
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
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

WFASTCGI_LINUX = '''"""wfastcgi 3.0.0 on Linux: it only needs ctypes.windll for its file
watcher, which WSGI_RESTART_FILE_REGEX='' turns off."""
import ctypes

class _Stub:
    def __getattr__(self, name):
        return _Stub()
    def __call__(self, *args, **kwargs):
        return 0

ctypes.windll = _Stub()
import wfastcgi
wfastcgi.main()
'''

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


def median_of(measure):
    runs = [measure() for _ in range(REPEATS)]
    if isinstance(runs[0], tuple):
        return tuple(statistics.median(r[i] for r in runs) for i in range(len(runs[0])))
    return statistics.median(runs)


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


def scenario_a():
    for pinned in (False, True):
        label = 'A pinned' if pinned else 'A'
        results = {}
        for name, folder in gateways().items():
            results[name] = measure_emulated(folder, 4, pinned)
        floor_rps = results['floor'][0]
        for name, (rps, p99) in results.items():
            row(label, name, rps, 'req/s', floor_rps, 'p99 %.2f ms' % p99)
        iis, wf = results['iiswsgi'], results['wfastcgi']
        if pinned:
            check('A pinned: iiswsgi >= 2x wfastcgi', iis[0] >= 2 * wf[0], '%.2fx' % (iis[0] / wf[0]))
        else:
            check('A: iiswsgi >= 0.8x floor', iis[0] >= 0.8 * floor_rps, '%.2fx' % (iis[0] / floor_rps))
            check('A: iiswsgi ahead of wfastcgi (req/s)', iis[0] > wf[0], '%.2fx' % (iis[0] / wf[0]))
            check('A: iiswsgi p99 below wfastcgi', iis[1] < wf[1], '%.2f vs %.2f ms' % (iis[1], wf[1]))
    two = {name: measure_emulated(folder, 8, False) for name, folder in gateways(instances=2).items()}
    for name, (rps, p99) in two.items():
        row('A maxInstances=2', name, rps, 'req/s', two['floor'][0], 'p99 %.2f ms' % p99)


NGINX_CONF = '''daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    fastcgi_buffer_size 64k;
    fastcgi_buffers 16 64k;
    upstream app {{ server unix:{sock}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME "";
            fastcgi_param PATH_INFO $uri;
            fastcgi_keep_conn on;
            fastcgi_request_buffering off;
            fastcgi_buffering off;
            fastcgi_pass app;
        }}
    }}
    server {{
        listen 127.0.0.1:{floor};
        location / {{ return 200 "Hello, world!"; }}
    }}
}}
'''


class Nginx:
    def __init__(self):
        self.dir = tempfile.mkdtemp(dir=WORK)
        self.sock = os.path.join(self.dir, 'app.sock')
        self.port, self.floor = free_port(), free_port()
        conf = os.path.join(self.dir, 'nginx.conf')
        write(conf, NGINX_CONF.format(dir=self.dir, sock=self.sock, port=self.port, floor=self.floor))
        self.process = Process(['nginx', '-p', self.dir, '-c', conf])
        wait_http('http://127.0.0.1:%d/' % self.floor)
        self.url = 'http://127.0.0.1:%d/' % self.port

    def stop(self):
        self.process.stop()


def app_dir():
    folder = os.path.join(WORK, 'app')
    write(os.path.join(folder, 'bench_app.py'), APP)
    return folder


def start_backend(kind, nginx, app='hello', threads=None):
    if os.path.exists(nginx.sock):
        os.unlink(nginx.sock)
    folder = app_dir()
    if kind == 'iiswsgi':
        args = [IISWSGI, 'serve', '--chdir', folder, 'bench_app:' + app, '--bind', 'unix:' + nginx.sock, '-q']
        if threads:
            args += ['--threads', str(threads)]
        process = Process(args)
    else:
        flup = os.path.join(WORK, 'flup_server.py')
        write(flup, FLUP_SERVER)
        process = Process([PYTHON, flup, nginx.sock, folder, app])
    wait_socket(nginx.sock)
    wait_http(nginx.url)
    return process


def scenario_b():
    nginx = Nginx()
    try:
        results = {}
        for kind in ('iiswsgi', 'flup'):
            backend = start_backend(kind, nginx)
            try:
                results[kind] = median_of(lambda: wrk(nginx.url, 32, threads=2))
            finally:
                backend.stop()
        port = free_port()
        granian = Process([os.path.join(VENV, 'bin', 'granian'), '--interface', 'wsgi', '--host', '127.0.0.1',
                           '--port', str(port), '--workers', '1', 'bench_app:hello'], cwd=app_dir())
        try:
            wait_http('http://127.0.0.1:%d/' % port)
            results['granian'] = median_of(lambda: wrk('http://127.0.0.1:%d/' % port, 32, threads=2))
        finally:
            granian.stop()
        results['nginx return 200'] = median_of(lambda: wrk('http://127.0.0.1:%d/' % nginx.floor, 32, threads=2))
        floor = results['nginx return 200'][0]
        for name, (rps, p99) in results.items():
            row('B', name, rps, 'req/s', floor, 'p99 %.2f ms' % p99)
        iis = results['iiswsgi'][0]
        check('B: iiswsgi >= 10x flup', iis >= 10 * results['flup'][0], '%.1fx' % (iis / results['flup'][0]))
        check('B: iiswsgi >= 0.6x granian', iis >= 0.6 * results['granian'][0], '%.2fx' % (iis / results['granian'][0]))
        by_threads = {}
        for threads in (1, 4, 16):
            backend = start_backend('iiswsgi', nginx, app='sleepy', threads=threads)
            try:
                by_threads[threads] = median_of(lambda: wrk(nginx.url, 32, threads=2))[0]
            finally:
                backend.stop()
            row('B sleep 10 ms', 'iiswsgi --threads %d' % threads, by_threads[threads], 'req/s', by_threads[1])
        scaling = by_threads[16] / by_threads[1]
        check('B: 16 threads near-linear on a 10 ms app', scaling >= 12, '%.1fx of 1 thread' % scaling)
    finally:
        nginx.stop()


def transfer(url, upload_file=None):
    args = ['curl', '-s', '-o', os.devnull, '-w', '%{time_total}', '-H', 'Expect:']
    if upload_file:
        args += ['--data-binary', '@' + upload_file, '-H', 'Content-Type: application/octet-stream']
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


def scenario_c():
    size = 256 * 1024 * 1024
    payload = os.path.join(WORK, 'upload.bin')
    with open(payload, 'wb') as f:
        f.write(os.urandom(1024 * 1024) * 256)
    gib = size / float(1 << 30)

    def measure(label, url, pids):
        up = median_of(lambda: transfer(url + 'upload', payload))
        down = median_of(lambda: transfer(url + 'download'))
        rss = peak_rss_kib(pids())
        row('C', label + ' upload 256 MiB', gib / up, 'GiB/s')
        row('C', label + ' download 256 MiB', gib / down, 'GiB/s', note='gateway peak RSS %d MiB' % (rss // 1024))
        check('C %s: >= 1 GiB/s each way' % label, gib / up >= 1 and gib / down >= 1, '%.2f up, %.2f down GiB/s' % (gib / up, gib / down))
        check('C %s: gateway peak RSS <= 64 MiB' % label, rss <= 64 * 1024, '%d MiB' % (rss // 1024))

    nginx = Nginx()
    try:
        folder = app_dir()
        # One process serving both: a tiny router app.
        write(os.path.join(folder, 'router.py'), 'import bench_app\n'
              'def application(environ, start_response):\n'
              '    name = environ["PATH_INFO"].strip("/") or "hello"\n'
              '    return getattr(bench_app, name)(environ, start_response)\n')
        backend = Process([IISWSGI, 'serve', '--chdir', folder, 'router:application', '--bind', 'unix:' + nginx.sock, '-q'])
        wait_socket(nginx.sock)
        try:
            measure('nginx', nginx.url, lambda: [backend.proc.pid])
        finally:
            backend.stop()
    finally:
        nginx.stop()
    emulated = site('streaming', IISWSGI, 'serve --chdir "%s" router:application' % app_dir(), 'hello', 1, buffer_limit=0)
    process, url = emulate(emulated)
    try:
        measure('emulator', url, process.children)
    finally:
        process.stop()


def scenario_d():
    folder = site('cold', IISWSGI, 'serve', 'hello')

    def cold_start():
        port = free_port()
        start = time.perf_counter()
        process = Process([IISWSGI, 'emulate', '--site', folder, '--listen', '127.0.0.1:%d' % port,
                           '--access-log', os.devnull])
        try:
            wait_http('http://127.0.0.1:%d/' % port, interval=0.001)
            return time.perf_counter() - start
        finally:
            process.stop()

    def python_import():
        start = time.perf_counter()
        subprocess.run([PYTHON, '-c', 'import bench_app'], cwd=folder, check=True)
        return time.perf_counter() - start

    emulated = median_of(cold_start)
    python = median_of(python_import)
    row('D', 'first response through the emulator', emulated * 1000, 'ms', python * 1000)
    row('D', 'python -c "import bench_app"', python * 1000, 'ms', python * 1000)
    check('D: cold start <= 1.25x python import', emulated <= 1.25 * python, '%.2fx' % (emulated / python))


def scenario_e():
    project = os.path.join(WORK, 'big_project')
    pkg = os.path.join(project, 'bigpkg')
    os.makedirs(pkg)
    write(os.path.join(project, 'pyproject.toml'), '[project]\nname = "bigpkg"\nversion = "1.0"\n')
    write(os.path.join(project, 'Manifest.xml.in'), '<m><iisApp path="bigpkg" /></m>\n')
    write(os.path.join(project, 'MANIFEST.in'), 'graft bigpkg\n')
    block = os.urandom(5 * 1024) + b'a' * 5 * 1024
    for i in range(20000):
        sub = os.path.join(pkg, 'd%03d' % (i // 200))
        if i % 200 == 0:
            os.makedirs(sub)
            write(os.path.join(sub, '__init__.py'), '')
        with open(os.path.join(sub, 'f%05d.dat' % i), 'wb') as f:
            f.write(block)

    def ours():
        start = time.perf_counter()
        subprocess.run([IISWSGI, 'bdist-msdeploy', '--project', project, '--skip-install-check', '--python', PYTHON],
                       check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    def pythons():
        start = time.perf_counter()
        with zipfile.ZipFile(os.path.join(WORK, 'python.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
            for dirpath, _, files in os.walk(pkg):
                for name in sorted(files):
                    path = os.path.join(dirpath, name)
                    z.write(path, os.path.relpath(path, project))
        return time.perf_counter() - start

    a, b = median_of(ours), median_of(pythons)
    row('E', 'bdist-msdeploy, 20,000 files, 200 MB', a, 's', b)
    row('E', 'Python zipfile, same tree', b, 's', b)


SCENARIOS = {'A': scenario_a, 'B': scenario_b, 'C': scenario_c, 'D': scenario_d, 'E': scenario_e}


def machine():
    cpu = 'unknown CPU'
    with open('/proc/cpuinfo') as f:
        match = re.search(r'model name\s*:\s*(.*)', f.read())
        if match:
            cpu = match.group(1)
    return '%s, %d cores, Python %s, %s' % (cpu, os.cpu_count(), sys.version.split()[0], time.strftime('%Y-%m-%d'))


def main(names):
    chosen = names or list(SCENARIOS)
    try:
        for name in chosen:
            print('running scenario %s ...' % name, file=sys.stderr)
            SCENARIOS[name.upper()]()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print('Machine: %s; medians of %d runs of %d s.\n' % (machine(), REPEATS, SECONDS))
    print('| scenario | server | median | unit | ratio | notes |')
    print('|---|---|---:|---|---:|---|')
    for scenario, server, value, unit, ratio_to, note in ROWS:
        ratio = '%.2fx' % (value / ratio_to) if ratio_to else ''
        print('| %s | %s | %.2f | %s | %s | %s |' % (scenario, server, value, unit, ratio, note))
    print('\n| target | holds | figure |\n|---|---|---|')
    for name, ok, detail in CHECKS:
        print('| %s | %s | %s |' % (name, 'yes' if ok else '**no**', detail))


if __name__ == '__main__':
    main(sys.argv[1:])
