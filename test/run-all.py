#!/usr/bin/env python3
"""Runs every test tier and prints one summary line: `N passed, N failed, N skipped`.

Tiers: unit (the cmocka programs meson knows, read as TAP) and integration (the
bats suites under test/integration, which include the guest tests that boot the
probe guest under the real VMM). A program that crashes, hangs past its time
limit or ends early against its TAP plan counts as a failure of its own.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

TAP_RE = re.compile(r'^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$')
PLAN_RE = re.compile(r'^1\.\.(\d+)')


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures


def parse_tap(name, output, returncode, timed_out):
    t = Tally()
    plan = None
    seen = 0
    for line in output.splitlines():
        m = PLAN_RE.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP_RE.match(line)
        if not m:
            continue
        seen += 1
        status, desc = m.groups()
        if re.search(r'#\s*skip', desc, re.I):
            t.skipped += 1
        elif status == 'ok':
            t.passed += 1
        else:
            t.failed += 1
            t.failures.append(f'{name}: {desc}')
    if timed_out:
        t.failed += 1
        t.failures.append(f'{name}: timed out')
    elif plan is not None and seen < plan:
        t.failed += 1
        t.failures.append(f'{name}: ended after {seen} of {plan} tests (exit {returncode})')
    elif returncode != 0 and t.failed == 0:
        t.failed += 1
        t.failures.append(f'{name}: exited {returncode} with no failing test reported')
    return t


def run(name, cmd, env, timeout, cwd=None, verbose=False):
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
        out, rc, to = p.stdout.decode(errors='replace'), p.returncode, False
    except subprocess.TimeoutExpired as e:
        out, rc, to = (e.stdout or b'').decode(errors='replace'), -1, True
    t = parse_tap(name, out, rc, to)
    dur = time.monotonic() - start
    mark = 'FAIL' if t.failed else 'ok'
    print(f'  {mark:4} {name:40} {t.passed:4} passed {t.failed:3} failed {t.skipped:3} skipped  {dur:6.1f}s',
          flush=True)
    if t.failed or verbose:
        for line in out.splitlines():
            print(f'       | {line}')
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
        total.add(run(suite, ['bats', '--tap', path], env, 900, verbose=args.verbose))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--build', default='build')
    ap.add_argument('--tier', choices=['unit', 'integration', 'all'], default='all')
    ap.add_argument('--filter', help='run only tests whose name contains this')
    ap.add_argument('-v', '--verbose', action='store_true', help='print every test program\'s output')
    args = ap.parse_args()
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = os.path.abspath(args.build)
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
