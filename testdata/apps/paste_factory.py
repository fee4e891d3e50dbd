def make(global_config, greeting='main section'):
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [f'paste: {greeting}'.encode()]
    return app
