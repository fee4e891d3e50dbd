def make_app(global_config, **settings):
    def application(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'legacy sample, devel_mode=' + settings.get('devel_mode', '').encode()]
    return application
