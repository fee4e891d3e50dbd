"""The reference the framework suite compares iiswsgi with: the same app
served by the standard library's wsgiref.simple_server.

    python reference_server.py MODULE:ATTR PORT_FILE

Listens on 127.0.0.1 at a free port, writes the port to PORT_FILE, and
serves until killed."""

import importlib
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    spec, port_file = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module, attr = spec.split(":")
    app = getattr(importlib.import_module(module), attr)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.server_port))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
