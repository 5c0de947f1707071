#!/usr/bin/env python3
"""Derives Firecracker's metrics field list from its source, as data.

Usage: tools/firecracker-metrics-fields.py FIRECRACKER_GIT_DIR TAG > test/data/firecracker-metrics.txt

Reads src/vmm/src/logger/metrics.rs at TAG (git show, no checkout): the
FirecrackerMetrics struct in field order, each plain group's struct, and, for
every `#[serde(flatten)]` serialize proxy, the `flush_metrics` of the module it
proxies (legacy/mod.rs, virtio/*/metrics.rs) with the `serialize_entry("name",
...)` groups it writes and the struct each one serializes. Nested structs
(LatencyAggregateMetrics) become `group.field.sub`. `#[cfg(target_arch = ...)]`
on a field or an entry marks it x86 or aarch64; unmarked lines are both
(written as `x86 aarch64`). Per-device entries (`format!("block_{}", ..)`) are
not lines: they repeat their aggregate group's fields under `<kind>_<id>`.
"""
import re
import subprocess
import sys

LEAF_TYPES = {'SharedIncMetric', 'SharedStoreMetric'}
ARCHES = {'x86_64': 'x86', 'aarch64': 'aarch64'}


def show(git, tag, path):
    return subprocess.run(['git', '-C', git, 'show', f'{tag}:{path}'], check=True, capture_output=True,
                          text=True).stdout


def structs(text):
    """name -> [(field, type, arch or None, attrs)] for every struct in text."""
    out = {}
    for m in re.finditer(r'^pub(?:\([a-z]+\))? struct (\w+)(?:<[^>]*>)? \{\n(.*?)^\}', text, re.M | re.S):
        fields, attrs = [], []
        for line in m.group(2).splitlines():
            line = line.strip()
            if line.startswith('#['):
                attrs.append(line)
                continue
            f = re.match(r'(?:pub(?:\([a-z]+\))? )?(\w+): ([\w:<>, ]+),$', line)
            if f:
                arch = None
                for a in attrs:
                    c = re.search(r'target_arch = "(\w+)"', a)
                    if c:
                        arch = ARCHES[c.group(1)]
                fields.append((f.group(1), f.group(2), arch, attrs))
                attrs = []
            elif line and not line.startswith('//'):
                attrs = []
        out[m.group(1)] = fields
    return out


def leaves(types, name, prefix):
    """The `a.b.c` paths of a metrics struct's leaf counters."""
    for field, ftype, arch, _ in types[name]:
        if ftype in LEAF_TYPES:
            yield prefix + field, arch
        elif ftype in types:
            for sub, sub_arch in leaves(types, ftype, prefix + field + '.'):
                yield sub, arch or sub_arch


def proxy_modules(metrics_rs, base):
    """alias -> source path, from `use crate::devices::... as alias;` and create_serialize_proxy!."""
    paths = {}
    for m in re.finditer(r'^use crate::([\w:]+?)(?: as (\w+))?;', metrics_rs, re.M):
        mod = m.group(1).split('::')
        alias = m.group(2) or mod[-1]
        paths[alias] = base + '/'.join(mod)
    out = {}
    for m in re.finditer(r'create_serialize_proxy!\((\w+), (\w+)\);', metrics_rs):
        out[m.group(1)] = paths[m.group(2)]
    return out


def module_source(git, tag, path):
    for candidate in (path + '.rs', path + '/mod.rs'):
        try:
            return candidate, show(git, tag, candidate)
        except subprocess.CalledProcessError:
            continue
    raise SystemExit(f'no source for module {path}')


def flush_groups(git, tag, path, text, common):
    """[(group, struct, arch)] that this module's flush_metrics writes, in order."""
    body = re.search(r'pub fn flush_metrics<.*?^\}', text, re.M | re.S).group(0)
    types = dict(re.findall(r'let mut (\w+): (\w+) =', body))
    out, arch = [], None
    for line in body.splitlines():
        c = re.search(r'target_arch = "(\w+)"', line)
        if c:
            arch = ARCHES[c.group(1)]
            continue
        e = re.search(r'serialize_entry\("(\w+)", &([\w:]+)\)', line)
        if not e:
            continue
        expr = e.group(2)
        if expr in types:
            struct = types[expr]
        else:
            mod, _, var = expr.rpartition('::')
            src = text if not mod else module_source(git, tag, path.rsplit('/', 1)[0] + '/' + mod)[1]
            struct = re.search(r'static ' + var + r': (\w+)', src).group(1)
            text_types = {**common, **structs(src)}
            out.append((e.group(1), struct, arch, text_types))
            arch = None
            continue
        out.append((e.group(1), struct, arch, {**common, **structs(text)}))
        arch = None
    return out


def main():
    git, tag = sys.argv[1], sys.argv[2]
    commit = subprocess.run(['git', '-C', git, 'rev-parse', tag + '^{commit}'], check=True, capture_output=True,
                            text=True).stdout.strip()
    metrics_path = 'src/vmm/src/logger/metrics.rs'
    metrics_rs = show(git, tag, metrics_path)
    types = structs(metrics_rs)
    proxies = proxy_modules(metrics_rs, 'src/vmm/src/')
    files, lines = [metrics_path], []
    for field, ftype, arch, attrs in types['FirecrackerMetrics']:
        if ftype in types:
            lines += [(field + '.' + leaf, a or arch) for leaf, a in leaves(types, ftype, '')]
        elif ftype in proxies:
            path, text = module_source(git, tag, proxies[ftype])
            files.append(path)
            for group, struct, garch, mtypes in flush_groups(git, tag, path, text, types):
                lines += [(group + '.' + leaf, a or garch) for leaf, a in leaves(mtypes, struct, '')]
    print(f'# Firecracker metrics field list, derived by tools/firecracker-metrics-fields.py')
    print(f'# tag {tag} commit {commit}')
    for f in sorted(set(files), key=files.index):
        print(f'# file {f}')
    print('# One `group.field` per line (nested: group.field.sub), then the architectures')
    print('# that write it. Per-device groups (block_<id>, net_<id>, pmem_<id>,')
    print('# vhost_user_<id>) repeat their kind\'s fields and are not listed.')
    for name, arch in lines:
        print(f'{name} {arch or "x86 aarch64"}')
    print('[ember keeps]')
    print('# What ember writes on x86 beyond the lines above, each group with the reason')
    print('# it stays: a consumer that reads it.')
    print('# rtc: Firecracker writes it on aarch64 only (always zero here: no RTC on')
    print('# x86). Kata\'s FirecrackerMetrics (src/runtime/virtcontainers/fc_metrics.go)')
    print('# reads its three fields into kata_firecracker_rtc; fctools\' Metrics has it.')
    for name, arch in lines:
        if arch == 'aarch64':
            print(name)
    print('# vhost_user_block: the aggregate group of the releases before per-device')
    print('# vhost_user_<id> groups, whose docs/metrics.md lists it among the keys of')
    print('# every line, for tools written against them (zero here: ember has no')
    print('# vhost-user device).')
    for f in ('activate_fails', 'cfg_fails', 'init_time_us', 'activate_time_us', 'config_change_time_us'):
        print('vhost_user_block.' + f)
    print('# Counters of earlier Firecracker releases (zero here): Kata\'s APIServerMetrics')
    print('# reads sync_response_fails and sync_vmm_send_timeout_count; fctools\' Metrics')
    print('# (rust-firecracker/fctools) requires both and deprecated_cmd_line_api_calls,')
    print('# so a line without them fails to deserialize there.')
    for name in ('api_server.sync_response_fails', 'api_server.sync_vmm_send_timeout_count',
                 'deprecated_api.deprecated_cmd_line_api_calls'):
        print(name)


main()
