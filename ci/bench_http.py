"""Scenario F: HTTP mode (`iiswsgi serve --bind http://`, and behind the
emulated HttpPlatformHandler) against granian, waitress and gunicorn, and
what HTTP mode saves IIS users over FastCGI on an I/O-bound app: one
process with 32 threads against 32 FastCGI processes."""
import os

from benchlib import (IISWSGI, VENV, WORK, Process, app_dir, check, emulate, free_port, gateways,
                      interleaved, median_of, peak_rss_kib, row, transfer, wait_http, write, wrk)

THREADS = 4


def rss_kib(pids):
    """The resident memory of `pids` together."""
    total = 0
    for pid in pids:
        try:
            with open('/proc/%d/status' % pid) as f:
                total += int(next(l for l in f if l.startswith('VmRSS:')).split()[1])
        except (OSError, StopIteration):
            pass
    return total


def http_server(kind, spec='bench_app:hello', threads=THREADS):
    """A server of `kind` on a free port, serving the WSGI app `spec`."""
    port = free_port()
    url = 'http://127.0.0.1:%d/' % port
    bin_dir = os.path.join(VENV, 'bin')
    args = {
        'iiswsgi': [IISWSGI, 'serve', spec, '--bind', url.rstrip('/'), '--threads', str(threads), '-q'],
        'granian': [os.path.join(bin_dir, 'granian'), '--interface', 'wsgi', '--host', '127.0.0.1', '--port', str(port),
                    '--workers', '1', '--blocking-threads', str(threads), spec],
        'waitress': [os.path.join(bin_dir, 'waitress-serve'), '--listen=127.0.0.1:%d' % port,
                     '--threads=%d' % threads, spec],
        'gunicorn': [os.path.join(bin_dir, 'gunicorn'), '-k', 'gthread', '-w', '1', '--threads', str(threads),
                     '-b', '127.0.0.1:%d' % port, spec],
    }[kind]
    process = Process(args, cwd=app_dir())
    try:
        wait_http(url)
    except RuntimeError:
        process.stop()
        raise
    return process, url


def serving(kind, threads=THREADS):
    process, url = http_server(kind, threads=threads)
    return process.stop, url


def hammer(url):
    """One wrk run as every F comparison makes it: 32 connections, 2 threads."""
    return wrk(url, 32, threads=2)


def emulated(folder):
    process, url = emulate(folder)
    return process.stop, url


def platform_site(name, app, threads):
    """A site served through the emulated HttpPlatformHandler."""
    folder = os.path.join(WORK, 'sites', name)
    write(os.path.join(folder, 'bench_app.py'), open(os.path.join(app_dir(), 'bench_app.py')).read())
    write(os.path.join(folder, 'web.config'), '''<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <handlers>
      <add name="bench" path="*" verb="*" modules="httpPlatformHandler" resourceType="Unspecified" />
    </handlers>
    <httpPlatform processPath="{exe}" arguments="serve --threads {threads} -q" requestTimeout="00:10:00" />
  </system.webServer>
  <appSettings>
    <add key="WSGI_HANDLER" value="bench_app.{app}" />
    <add key="WSGI_RESTART_FILE_REGEX" value="" />
  </appSettings>
</configuration>
'''.format(exe=IISWSGI, threads=threads, app=app))
    return folder


def scenario_f():
    # F: the same hello app and thread count under each HTTP server.
    results = interleaved({kind: lambda kind=kind: serving(kind)
                           for kind in ('iiswsgi', 'granian', 'waitress', 'gunicorn')}, hammer)
    for kind, (rps, p99) in results.items():
        row('F (%d threads)' % THREADS, kind, rps, 'req/s', results['granian'][0], 'p99 %.2f ms' % p99)
    ours = results['iiswsgi'][0]
    check('F: iiswsgi >= 1.0x granian', ours >= results['granian'][0], '%.2fx' % (ours / results['granian'][0]))
    check('F: iiswsgi >= 5x waitress', ours >= 5 * results['waitress'][0], '%.2fx' % (ours / results['waitress'][0]))
    # One thread each: what is left once the threads stop taking the GIL
    # from each other.
    single = interleaved({kind: lambda kind=kind: serving(kind, threads=1) for kind in ('iiswsgi', 'granian')},
                         hammer)
    for kind, (rps, p99) in single.items():
        row('F (1 thread)', kind, rps, 'req/s', single['granian'][0], 'p99 %.2f ms' % p99)

    # The emulator's two paths to the same app and threads.
    folders = {'httpPlatformHandler': platform_site('hph-hello', 'hello', THREADS),
               'FastCGI, maxInstances=%d' % THREADS: gateways(instances=THREADS)['iiswsgi']}
    paths = interleaved({label: lambda folder=folder: emulated(folder) for label, folder in folders.items()},
                        lambda url: wrk(url, 16, threads=2))
    fastcgi = paths['FastCGI, maxInstances=%d' % THREADS][0]
    for label, (rps, p99) in paths.items():
        row('F emulator', label, rps, 'req/s', fastcgi, 'p99 %.2f ms' % p99)

    # An I/O-bound app (10 ms each) and 32 clients: one HTTP process with 32
    # threads against 32 FastCGI processes, requests/s and the RSS of all
    # the app processes.
    sites = {'HTTP mode, 1 process, 32 threads': platform_site('hph-sleepy', 'sleepy', 32)}
    for kind, folder in gateways(instances=32, app='sleepy').items():
        if kind != 'floor':
            sites['FastCGI %s, maxInstances=32' % kind] = folder

    def start(folder):
        process, url = emulate(folder)
        return process.stop, (process, url)

    def run(target):
        process, url = target
        return wrk(url, 32, threads=2)[0], rss_kib(process.children())

    sleepy = interleaved({label: lambda folder=folder: start(folder) for label, folder in sites.items()}, run)
    http_rps, http_rss = sleepy['HTTP mode, 1 process, 32 threads']
    for label, (rps, rss) in sleepy.items():
        row('F sleep 10 ms, 32 clients', label, rps, 'req/s', http_rps, 'app processes RSS %d MiB' % (rss // 1024))
    fastcgi_rps, fastcgi_rss = sleepy['FastCGI iiswsgi, maxInstances=32']
    check('F: HTTP mode req/s >= 0.95x 32 FastCGI processes', http_rps >= 0.95 * fastcgi_rps,
          '%.2fx' % (http_rps / fastcgi_rps))
    check('F: HTTP mode RSS <= 1/8 of 32 FastCGI processes', http_rss * 8 <= fastcgi_rss,
          '%d MiB vs %d MiB' % (http_rss // 1024, fastcgi_rss // 1024))

    # Streaming through --bind http:// directly: 1 GiB each way.
    payload = os.path.join(WORK, 'upload-1g.bin')
    with open(payload, 'wb') as f:
        block = os.urandom(1 << 20)
        for _ in range(1024):
            f.write(block)
    folder = app_dir()
    # The download's 4096 chunks are of 1 MiB here: 4 GiB in all.
    write(os.path.join(folder, 'router_f.py'), 'import bench_app\n'
          'bench_app.CHUNK = b"x" * (1 << 20)\n'
          'def application(environ, start_response):\n'
          '    name = environ["PATH_INFO"].strip("/") or "hello"\n'
          '    return getattr(bench_app, name)(environ, start_response)\n')
    process, url = http_server('iiswsgi', spec='router_f:application')
    try:
        up = median_of(lambda: transfer(url + 'upload', payload))
        down = median_of(lambda: transfer(url + 'download'))
        rss = peak_rss_kib([process.proc.pid])
    finally:
        process.stop()
    gib_down = 4.0
    row('F streaming', 'upload 1 GiB', 1 / up, 'GiB/s')
    row('F streaming', 'download %.0f GiB' % gib_down, gib_down / down, 'GiB/s', note='gateway peak RSS %d MiB' % (rss // 1024))
    check('F: >= 1 GiB/s each way', 1 / up >= 1 and gib_down / down >= 1,
          '%.2f up, %.2f down GiB/s' % (1 / up, gib_down / down))
    check('F: gateway peak RSS <= 64 MiB', rss <= 64 * 1024, '%d MiB' % (rss // 1024))
