#!/usr/bin/env python3
"""Runs a command whose stdout and stderr are a pipe or a pty that nobody reads
until asked, as a parent that shares its own open file description with it.

  stdout-hold.py pipe|pty STATEDIR [--prefill] -- CMD...

STATEDIR/pid    the command's pid, once it runs
STATEDIR/drain  created by the test: from then on everything is read into
STATEDIR/out    (and read on until the command and the helper are done)
STATEDIR/status the command's exit code (128+N for signal N), once it ended
STATEDIR/flags  `nonblock=0` or `nonblock=1`: O_NONBLOCK on this helper's own
                description of the write end, checked after the command ended
                (ember shares that description: a flag it set and did not
                clear shows here)

--prefill fills the pipe or pty before the command starts, through a second,
private description of the write end, so the shared one is never touched.
"""
import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import time


def write_file(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def open_sink(kind):
    """(read end, write end) of a new pipe or pty, blocking."""
    if kind == 'pipe':
        return os.pipe()
    master, slave = pty.openpty()
    return master, slave


def prefill(kind, wfd):
    """Fills the sink through a private description with O_NONBLOCK."""
    path = os.readlink(f'/proc/self/fd/{wfd}') if kind == 'pty' else f'/proc/self/fd/{wfd}'
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    chunk = b'prefill\n' * 64
    try:
        while True:
            os.write(fd, chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)


def drain(rfd, out, timeout):
    """Reads what is there (at most until timeout); False at EOF."""
    r, _, _ = select.select([rfd], [], [], timeout)
    if not r:
        return True
    try:
        data = os.read(rfd, 65536)
    except OSError:  # a pty master reads EIO once no slave is open
        return False
    if not data:
        return False
    out.write(data)
    out.flush()
    return True


def main():
    kind, state = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    do_prefill = args and args[0] == '--prefill'
    if do_prefill:
        args = args[1:]
    if not args or args[0] != '--' or kind not in ('pipe', 'pty'):
        sys.exit(__doc__)
    rfd, wfd = open_sink(kind)
    if do_prefill:
        prefill(kind, wfd)
    signal.signal(signal.SIGTERM, lambda *_: None)  # the test may stop the command, not us
    child = subprocess.Popen(args[1:], stdin=subprocess.DEVNULL, stdout=wfd, stderr=wfd, close_fds=True)
    write_file(os.path.join(state, 'pid'), f'{child.pid}\n')
    draining = False
    with open(os.path.join(state, 'out'), 'ab') as out:
        while child.poll() is None:
            if not draining and os.path.exists(os.path.join(state, 'drain')):
                draining = True
            if draining:
                drain(rfd, out, 0.05)
            else:
                time.sleep(0.05)
        code = child.returncode if child.returncode >= 0 else 128 - child.returncode
        nonblock = 1 if fcntl.fcntl(wfd, fcntl.F_GETFL) & os.O_NONBLOCK else 0
        write_file(os.path.join(state, 'flags'), f'nonblock={nonblock}\n')
        os.close(wfd)
        if draining:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and drain(rfd, out, 0.1):
                pass
    write_file(os.path.join(state, 'status'), f'{code}\n')


if __name__ == '__main__':
    main()
