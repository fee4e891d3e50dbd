print('loading output on stdout')
import sys
print('loading output on stderr', file=sys.stderr)
raise ZeroDivisionError('import went wrong')
