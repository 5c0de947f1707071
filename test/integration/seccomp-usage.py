#!/usr/bin/env python3
"""Which syscalls each seccomp role really made, from `strace -f -Y` traces.

A thread takes its role with seccomp(SECCOMP_SET_MODE_FILTER, 0, ...) (the
baseline uses SECCOMP_FILTER_FLAG_TSYNC); the role follows from the thread's
comm at that moment, Firecracker's names: `fc_api` is api, `fc_vcpu N` is
vcpu, and the main thread, which keeps the name it was executed under (ember,
firecracker), is vmm. Calls a thread made before that belong to the startup
section (the baseline).

  seccomp-usage.py --allowed NAMES --unused UNUSED TRACE...

NAMES is `ember-seccomp explain POLICY --names` ("role syscall" per line).
UNUSED lists "role syscall  # reason" for rules the traces cannot show (an
error path, another host). Exit 1 when a role or startup allows a syscall that
no thread used and UNUSED does not explain, or when a thread made a call that
its role does not allow (it would have been killed), or when a role of the
policy was taken by no thread in the traces (a renamed thread would otherwise
leave its role unjudged).
"""
import argparse
import collections
import re
import sys

LINE = re.compile(r'^(\d+)<([^>]*)>\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$')
ROLE_INSTALL = re.compile(r'^SECCOMP_SET_MODE_FILTER, 0,.*\)\s+= 0')
BASELINE_INSTALL = re.compile(r'^SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,.*\)\s+= 0')
CHILD = re.compile(r'= (\d+)(?:<[^>]*>)?\s*$')


VCPU_COMM = re.compile(r'^fc_vcpu \d+$')


def role_of(comm):
    """The role a thread of this comm takes (thread.h names them)."""
    if comm == 'fc_api':
        return 'api'
    if VCPU_COMM.match(comm):
        return 'vcpu'
    return 'vmm'


def calls(path):
    """Yields (tid, comm, syscall, arguments and result) per completed call,
    joining the halves strace splits when threads interleave."""
    pending = {}
    for line in open(path, errors='replace'):
        m = LINE.match(line.rstrip('\n'))
        if not m:
            continue
        tid, comm, resumed, name, rest = m.groups()
        if rest.endswith('<unfinished ...>'):
            pending[tid] = (name, rest[:-len('<unfinished ...>')])
            continue
        if resumed:
            name, head = pending.pop(tid, (resumed, ''))
            rest = head + rest
        yield tid, comm, name, rest


def trace_read(path, used):
    """Adds (section, syscall) pairs from one trace to used. Only threads under
    the baseline count: the one that installed it and those created after."""
    role = {}  # tid -> role once installed
    filtered = set()
    for tid, comm, name, rest in calls(path):
        if name == 'seccomp' and BASELINE_INSTALL.match(rest):
            filtered.add(tid)
            continue
        if tid not in filtered:
            continue
        if name in ('clone', 'clone3'):
            c = CHILD.search(rest)
            if c:
                filtered.add(c.group(1))
        if name == 'seccomp' and ROLE_INSTALL.match(rest) and tid not in role:
            used['startup'].add(name)
            role[tid] = role_of(comm)
            continue
        used[role.get(tid, 'startup')].add(name)


def allowed_read(path):
    allowed = collections.defaultdict(set)
    for line in open(path):
        role, name = line.split()
        allowed[role].add(name)
    return allowed


def unused_read(path):
    unused = {}
    for n, line in enumerate(open(path), 1):
        body, _, reason = line.partition('#')
        if not body.strip():
            continue
        parts = body.split()
        if len(parts) != 2 or not reason.strip():
            sys.exit(f'{path}:{n}: expected "role syscall  # reason"')
        unused[tuple(parts)] = reason.strip()
    return unused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--allowed', required=True)
    ap.add_argument('--unused', required=True)
    ap.add_argument('traces', nargs='+')
    a = ap.parse_args()
    used = collections.defaultdict(set)
    for t in a.traces:
        trace_read(t, used)
    allowed = allowed_read(a.allowed)
    unused = unused_read(a.unused)
    every_role = set().union(*(allowed[r] for r in allowed if r != 'startup'))
    bad = 0
    for role in sorted(allowed):
        if role != 'startup' and role not in used:
            print(f'  NO THREAD TOOK ROLE {role} in the traces (a thread renamed, or the run never reached it)')
            bad += 1
            continue
        idle = sorted(s for s in allowed[role] - used[role] if (role, s) not in unused)
        stale = sorted(s for (r, s) in unused if r == role and s in used[role])
        print(f'{role}: {len(allowed[role])} allowed, {len(used[role])} used')
        for s in idle:
            print(f'  ALLOWED BUT UNUSED: {role} {s} (remove the rule, or explain it in {a.unused})')
            bad += 1
        for s in stale:
            print(f'  note: {role} {s} is listed as unused but was used')
    for role in sorted(used):
        extra = used[role] - allowed.get(role, set())
        if role == 'startup':
            extra -= every_role  # the baseline is the union: role rules cover set-up too
        for s in sorted(extra):
            print(f'  USED BUT NOT ALLOWED: {role} {s} (a missing rule: this run should have died with 148)')
            bad += 1
    print(f'minimality: {"FAIL" if bad else "ok"} ({bad} problem{"s" if bad != 1 else ""})')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
