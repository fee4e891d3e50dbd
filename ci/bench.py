"""The benchmark driver behind ci/bench: runs each scenario against its
peers, repeats it, and prints a markdown table of medians and ratios.

Every figure that matters is a ratio between two servers measured in the
same run, on the same machine, Python and app. Scenarios A-E are here, F
(HTTP mode) in bench_http.py, the shared parts in benchlib.py."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

from benchlib import (IISWSGI, PYTHON, WORK, Process, app_dir, check, emulate, free_port, gateways,
                      measure_emulated, median_of, peak_rss_kib, report, row, site, transfer, wait_http,
                      wait_socket, write)
from bench_front_ends import scenario_b
from bench_http import scenario_f


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


SCENARIOS = {'A': scenario_a, 'B': scenario_b, 'C': scenario_c, 'D': scenario_d, 'E': scenario_e, 'F': scenario_f}


def main(names):
    chosen = names or list(SCENARIOS)
    try:
        for name in chosen:
            print('running scenario %s ...' % name, file=sys.stderr)
            SCENARIOS[name.upper()]()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
        # What was measured, even when a scenario failed.
        report()


if __name__ == '__main__':
    main(sys.argv[1:])
