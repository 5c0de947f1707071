#!/usr/bin/env python3
"""Runs every test tier and prints one summary line: `N passed, N failed, N skipped`.

Tiers: unit (the cmocka programs meson knows, read as TAP) and integration (the
bats suites under test/integration, which include the guest tests that boot the
probe guest under the real VMM). A program that crashes, hangs past its time
limit or ends early against its TAP plan counts as a failure of its own.

Each test prints one line as it finishes (ok, FAIL, or skip with its reason),
each program a `==` line with its counts. Works from any directory: --build is
taken relative to the current one, and defaults to build/ in the source tree.
"""
import argparse
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

TAP_RE = re.compile(r'^(not ok|ok)\b\s*\d*\s*(?:- )?(.*)$')
PLAN_RE = re.compile(r'^1\.\.(\d+)')
SKIP_RE = re.compile(r'#\s*skip\b:?\s*(.*)$', re.I)


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures


class TapStream:
    """Reads one program's TAP output line by line and prints each test as it finishes."""

    def __init__(self, name, verbose):
        self.name, self.verbose = name, verbose
        self.t = Tally()
        self.plan = None
        self.seen = 0
        self.in_failure = False
        self.lines = []

    def feed(self, line):
        self.lines.append(line)
        if self.verbose:
            print(f'       | {line}', flush=True)
        m = PLAN_RE.match(line)
        if m and self.plan is None:
            self.plan = int(m.group(1))
            return
        m = TAP_RE.match(line)
        if not m:
            # a failing bats test explains itself in "#" lines right after it
            if self.in_failure and line.startswith('#') and not self.verbose:
                print(f'       | {line}', flush=True)
            return
        self.seen += 1
        self.in_failure = False
        status, desc = m.groups()
        skip = SKIP_RE.search(desc)
        if skip:
            self.t.skipped += 1
            reason = skip.group(1).strip() or 'no reason given'
            print(f'  skip {self.name}: {desc[:skip.start()].strip()} (skipped: {reason})', flush=True)
        elif status == 'ok':
            self.t.passed += 1
            print(f'  ok   {self.name}: {desc}', flush=True)
        else:
            self.t.failed += 1
            self.t.failures.append(f'{self.name}: {desc}')
            self.in_failure = True
            print(f'  FAIL {self.name}: {desc}', flush=True)

    def finish(self, returncode, timed_out):
        """Counts a crash, a hang or an early end as a failure of its own."""
        t, problem = self.t, None
        if timed_out:
            problem = 'timed out'
        elif self.plan is not None and self.seen < self.plan:
            problem = f'ended after {self.seen} of {self.plan} tests (exit {returncode})'
        elif returncode != 0 and t.failed == 0:
            problem = f'exited {returncode} with no failing test reported'
        if problem:
            t.failed += 1
            t.failures.append(f'{self.name}: {problem}')
            print(f'  FAIL {self.name}: {problem}', flush=True)
            if not self.verbose:
                for line in self.lines[-40:]:
                    print(f'       | {line}', flush=True)
        return t


def run(name, cmd, env, timeout, cwd=None, verbose=False):
    start = time.monotonic()
    stream = TapStream(name, verbose)
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    lines = queue.Queue()

    def reader():
        for raw in p.stdout:
            lines.put(raw.decode(errors='replace').rstrip('\n'))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    timed_out = False
    while True:
        left = start + timeout - time.monotonic()
        try:
            line = lines.get(timeout=max(left, 0.01))
        except queue.Empty:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        if line is None:
            break
        stream.feed(line)
    rc = p.wait()
    t = stream.finish(rc, timed_out)
    dur = time.monotonic() - start
    print(f'  == {name}: {t.passed} passed, {t.failed} failed, {t.skipped} skipped ({dur:.1f}s)', flush=True)
    return t


def unit_tests(build, args):
    tests = json.loads(subprocess.check_output(['meson', 'introspect', build, '--tests']))
    total = Tally()
    print('unit tests (cmocka)', flush=True)
    for test in sorted(tests, key=lambda x: x['name']):
        if 'unit' not in test.get('suite', []) and not any(s.endswith(':unit') for s in test.get('suite', [])):
            continue
        if args.filter and args.filter not in test['name']:
            continue
        env = dict(os.environ)
        env.update(test.get('env') or {})
        total.add(run(test['name'], test['cmd'], env, 300, cwd=test.get('workdir'), verbose=args.verbose))
    return total


# Suites whose time limit is not the default 900 s, and why.
SUITE_TIMEOUT = {
    # three Linux early boots side by side, about 70 s of CPU each under PVM's instruction emulator,
    # which on a busy 2-core host stretches to many minutes of wall time
    'irqchip.bats': 2400,
}


def integration_tests(src, build, args):
    total = Tally()
    suites = sorted(f for f in os.listdir(os.path.join(src, 'test', 'integration')) if f.endswith('.bats'))
    print('integration and guest tests (bats)', flush=True)
    env = dict(os.environ)
    env['EMBER_SRC'] = src
    env['EMBER_BUILD'] = build
    for suite in suites:
        if args.filter and args.filter not in suite:
            continue
        path = os.path.join(src, 'test', 'integration', suite)
        total.add(run(suite, ['bats', '--tap', path], env, SUITE_TIMEOUT.get(suite, 900), verbose=args.verbose))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--build', help='the build directory (default: build/ in the source tree)')
    ap.add_argument('--tier', choices=['unit', 'integration', 'all'], default='all')
    ap.add_argument('--filter', help='run only tests whose name contains this')
    ap.add_argument('-v', '--verbose', action='store_true', help='print every test program\'s output')
    args = ap.parse_args()
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = os.path.abspath(args.build) if args.build else os.path.join(src, 'build')
    total = Tally()
    if args.tier in ('unit', 'all'):
        total.add(unit_tests(build, args))
    if args.tier in ('integration', 'all'):
        total.add(integration_tests(src, build, args))
    if total.failures:
        print('failures:')
        for f in total.failures:
            print(f'  {f}')
    print(f'{total.passed} passed, {total.failed} failed, {total.skipped} skipped')
    return 1 if total.failed else 0


if __name__ == '__main__':
    sys.exit(main())
