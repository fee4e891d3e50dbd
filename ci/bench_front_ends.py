"""Scenario B: the gateway behind nginx, Apache (mod_proxy_fcgi) and
lighttpd (mod_fastcgi) over a unix socket, against flup behind the same
server; nginx also against granian on its own and nginx's own `return
200` (the floor of what the machine can push through nginx)."""
import os
import tempfile

from benchlib import (FLUP_SERVER, IISWSGI, PYTHON, VENV, WORK, Process, app_dir, check, free_port,
                      interleaved, median_of, row, wait_http, wait_socket, write, wrk)

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


class FrontEnd:
    """A web server in a folder of its own, proxying to `self.sock`."""

    def __init__(self):
        # Apache's children run as www-data: the folder must be theirs to reach.
        self.dir = tempfile.mkdtemp(prefix='iiswsgi-front-')
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, 'app.sock')
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d/' % self.port
        # What the server itself answers without a backend: the floor.
        write(os.path.join(self.dir, 'static.txt'), 'Hello, world!')
        self.floor_url = self.url + 'static.txt'

    def launch(self, conf_name, template, command, **fields):
        """Writes the config from `template` and starts `command` on it."""
        conf = os.path.join(self.dir, conf_name)
        write(conf, template.format(dir=self.dir, sock=self.sock, port=self.port, **fields))
        self.process = Process(command(conf))

    def stop(self):
        self.process.stop()


class Nginx(FrontEnd):
    name = 'nginx'

    def __init__(self):
        super().__init__()
        self.floor = free_port()
        self.launch('nginx.conf', NGINX_CONF, lambda conf: ['nginx', '-p', self.dir, '-c', conf], floor=self.floor)
        wait_http('http://127.0.0.1:%d/' % self.floor)


APACHE_CONF = '''ServerRoot {dir}
ServerName localhost
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_fcgi_module /usr/lib/apache2/modules/mod_proxy_fcgi.so
Listen 127.0.0.1:{port}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LogLevel warn
DocumentRoot {dir}
User www-data
Group www-data
ProxyPass "/static.txt" "!"
ProxyPass "/" "unix:{sock}|fcgi://localhost/" enablereuse=on
'''


class Apache(FrontEnd):
    name = 'Apache'

    def __init__(self):
        super().__init__()
        self.launch('httpd.conf', APACHE_CONF, lambda conf: ['/usr/sbin/apache2', '-f', conf, '-DFOREGROUND'])


LIGHTTPD_CONF = '''server.document-root = "{dir}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.modules += ( "mod_fastcgi" )
$HTTP["url"] !~ "^/static" {{ fastcgi.server = ( "/" => (( "socket" => "{sock}", "check-local" => "disable", "fix-root-scriptname" => "enable" ))) }}
'''


class Lighttpd(FrontEnd):
    name = 'lighttpd'

    def __init__(self):
        super().__init__()
        self.launch('lighttpd.conf', LIGHTTPD_CONF, lambda conf: ['lighttpd', '-D', '-f', conf])


def start_backend(kind, front, app='hello', threads=None):
    if os.path.exists(front.sock):
        os.unlink(front.sock)
    folder = app_dir()
    if kind == 'iiswsgi':
        args = [IISWSGI, 'serve', '--chdir', folder, 'bench_app:' + app, '--bind', 'unix:' + front.sock,
                '--socket-mode', '666', '-q']
        if threads:
            args += ['--threads', str(threads)]
        process = Process(args)
    else:
        flup = os.path.join(WORK, 'flup_server.py')
        write(flup, FLUP_SERVER)
        process = Process([PYTHON, flup, front.sock, folder, app])
    wait_socket(front.sock)
    os.chmod(front.sock, 0o666)
    wait_http(front.url)
    return process


def against_flup(front, threads=(), extra=None):
    """iiswsgi (its default threads, then each of `threads`) and flup behind
    `front`, and the `extra` servers (name: start), measured in turn; their
    medians."""
    def start(kind, count):
        return start_backend(kind, front, threads=count).stop, front.url

    servers = {'iiswsgi': lambda: start('iiswsgi', None)}
    for count in threads:
        servers['iiswsgi --threads %d' % count] = lambda count=count: start('iiswsgi', count)
    servers['flup'] = lambda: start('flup', None)
    servers.update(extra or {})
    # The backends take turns on the one socket the front end points to.
    return interleaved(servers, lambda url: wrk(url, 32, threads=2), together=False)


def running(url):
    """A server that runs anyway (the front end itself), for `interleaved`."""
    return (lambda: None), url


def start_granian():
    port = free_port()
    granian = Process([os.path.join(VENV, 'bin', 'granian'), '--interface', 'wsgi', '--host', '127.0.0.1',
                       '--port', str(port), '--workers', '1', 'bench_app:hello'], cwd=app_dir())
    url = 'http://127.0.0.1:%d/' % port
    try:
        wait_http(url)
    except RuntimeError:
        granian.stop()
        raise
    return granian.stop, url


def scenario_b():
    nginx = Nginx()
    try:
        # --threads 4 as in F: on this CPU-bound app the default 8 threads
        # spend their time handing the GIL around.
        floor_url = 'http://127.0.0.1:%d/' % nginx.floor
        results = against_flup(nginx, threads=(4,), extra={'granian': start_granian,
                                                           'nginx return 200': lambda: running(floor_url)})
        floor = results['nginx return 200'][0]
        for name, (rps, p99) in results.items():
            row('B', name, rps, 'req/s', floor, 'p99 %.2f ms' % p99)
        iis = results['iiswsgi'][0]
        check('B: iiswsgi >= 10x flup', iis >= 10 * results['flup'][0], '%.1fx' % (iis / results['flup'][0]))
        four = results['iiswsgi --threads 4'][0]
        check('B: iiswsgi --threads 4 >= 10x flup', four >= 10 * results['flup'][0], '%.1fx' % (four / results['flup'][0]))
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
    # The same against flup behind Apache and lighttpd. No target: each
    # server's own static-file rate shows how much room it leaves.
    for server in (Apache, Lighttpd):
        front = server()
        try:
            results = against_flup(front, extra={front.name + ' static file': lambda: running(front.floor_url)})
        finally:
            front.stop()
        for name, (rps, p99) in results.items():
            row('B %s' % front.name, name, rps, 'req/s', results['flup'][0], 'p99 %.2f ms' % p99)
