"""iiswsgi: serve Python WSGI apps on IIS (FastCGI) and other web servers.

The gateway and its tools are Rust, in the extension module
``iiswsgi._iiswsgi``; this package is how Python reaches them:
``python -m iiswsgi`` and the console scripts (``iiswsgi``,
``iiswsgi-appcmd``, ``iiswsgi_install``) run the same command line as the
standalone ``iiswsgi`` binary, and ``egg:iiswsgi#iis`` and
``egg:iiswsgi#test_app`` are its Paste Deploy entry points (see
``iiswsgi.server``).
"""

from iiswsgi._iiswsgi import __version__

__all__ = ["__version__"]
