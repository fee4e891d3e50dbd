"""The console scripts and ``python -m iiswsgi``: the standalone binary's
command line, run inside this Python by the extension module."""

import os
import signal
import sys

from iiswsgi import _iiswsgi


def run(call, *args):
    """Calls into the extension with Ctrl-C meaning what it means to the
    binary: ``serve`` and ``emulate`` catch it and stop gracefully, every
    other command ends at once. Python's own handler would only set a flag
    that nothing reads while Rust runs, so it steps aside meanwhile."""
    # The packaging commands read setup.py and run pip with "the Python":
    # here, this one (the binary's default is python3 on PATH). Children,
    # such as the install a runCommand starts, inherit it.
    os.environ.setdefault("IISWSGI_PYTHON", sys.executable)
    for stream in (sys.stdout, sys.stderr):
        # None where the process has no such handle: IIS starts FastCGI
        # processes with invalid ones, spawners close them.
        if stream is not None:
            stream.flush()
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:  # not the main thread: signals are not ours to set
        previous = None
    try:
        return call(*args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def main(argv=None):
    """``iiswsgi``: every subcommand of the binary, same help and exit codes."""
    argv = sys.argv[1:] if argv is None else list(argv)
    sys.exit(run(_iiswsgi.main, ["iiswsgi"] + argv))


def appcmd():
    """``iiswsgi-appcmd``: the mock appcmd, for the install tools and tests."""
    sys.exit(run(_iiswsgi.appcmd, sys.argv[1:]))


def install():
    """``iiswsgi_install``: the original iiswsgi's name for ``iiswsgi
    install``, with its options ``-a``, ``-i``, ``-e`` and ``-v``, as Web
    Deploy runCommands call it."""
    main(["install"] + sys.argv[1:])
