"""``python -m iiswsgi ARGS``: the command line of the ``iiswsgi`` binary."""

from iiswsgi._cli import main

if __name__ == "__main__":
    main()
