"""wfastcgi 3.0.0 (PyPI) on Linux, for the tests and ci/bench: it needs
ctypes.windll only for its file watcher, which WSGI_RESTART_FILE_REGEX=''
turns off, so a stub lets it run here unchanged."""
import ctypes


class _Stub:
    def __getattr__(self, name):
        return _Stub()

    def __call__(self, *args, **kwargs):
        return 0


ctypes.windll = _Stub()
import wfastcgi  # noqa: E402

wfastcgi.main()
