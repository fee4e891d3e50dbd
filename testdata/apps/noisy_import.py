"""A module that writes to stdout and stderr while importing, then fails."""
import sys

print('noisy import says hello on stdout')
print('noisy import says hello on stderr', file=sys.stderr)
raise RuntimeError('noisy import gave up')
