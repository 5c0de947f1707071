#!/usr/bin/env python3
"""A test page server for the Uffd snapshot backend (snapshot-uffd.bats).

uffd-peer.py check SOCKET MIB PAGE_SIZE: accepts one connection, receives
the handshake and checks it field by field against Firecracker's format:
one sendmsg carrying one fd (a userfaultfd, by its /proc link) and the JSON
array [{"base_host_virt_addr","size","offset","page_size","page_size_kib"}]
with the keys in that order, the regions covering MIB MiB, page_size and
page_size_kib both PAGE_SIZE bytes, and each base_host_virt_addr the start
of a mapping of that size in the peer's (SO_PEERCRED) /proc/PID/maps.
Prints "uffd-peer: ok" or "uffd-peer: FAIL <why>" and exits 0 or 1; it
serves no fault.

uffd-peer.py hold SOCKET: accepts, receives, prints "uffd-peer: holding",
then "uffd-peer: fault pending" once the userfaultfd has a message (a
vCPU waits on a page nobody serves), and never serves a fault (until
killed).
"""
import array
import json
import os
import select
import socket
import struct
import sys
import time

KEYS = ["base_host_virt_addr", "size", "offset", "page_size", "page_size_kib"]


def accept(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    conn, _ = s.accept()
    msg, anc, flags, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
    fds = []
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[: len(data) - (len(data) % a.itemsize)])
            fds.extend(a)
    pid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    return conn, msg, fds, pid, flags


def mappings(pid):
    out = {}
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            out[lo] = hi - lo
    return out


def check(path, mib, page_size):
    conn, msg, fds, pid, flags = accept(path)
    if flags & socket.MSG_CTRUNC:
        return "the control message was truncated"
    if len(fds) != 1:
        return f"{len(fds)} fds in the message, not 1"
    link = os.readlink(f"/proc/self/fd/{fds[0]}")
    if "userfaultfd" not in link:
        return f"the fd is {link}, not a userfaultfd"
    try:
        regions = json.loads(msg, object_pairs_hook=lambda kv: kv)
    except ValueError as e:
        return f"not JSON ({e}): {msg!r}"
    if not isinstance(regions, list) or not regions:
        return f"not a non-empty array: {msg!r}"
    maps = mappings(pid)
    total, offset = 0, 0
    for i, kv in enumerate(regions):
        keys = [k for k, _ in kv]
        if keys != KEYS:
            return f"region {i}: keys {keys}, expected {KEYS}"
        r = dict(kv)
        for k in KEYS:
            if not isinstance(r[k], int) or r[k] < 0:
                return f"region {i}: {k} is not a non-negative integer: {r[k]!r}"
        if r["page_size"] != page_size or r["page_size_kib"] != page_size:
            return f"region {i}: page_size {r['page_size']} page_size_kib {r['page_size_kib']}, expected {page_size} both"
        if r["offset"] != offset:
            return f"region {i}: offset {r['offset']}, expected {offset} (the regions one after another)"
        if r["base_host_virt_addr"] % page_size or r["size"] % page_size:
            return f"region {i}: base or size not a multiple of the page size"
        if maps.get(r["base_host_virt_addr"]) != r["size"]:
            return f"region {i}: no mapping of {r['size']} bytes at {r['base_host_virt_addr']:#x} in pid {pid}'s maps"
        offset += r["size"]
        total += r["size"]
    if total != mib << 20:
        return f"the regions cover {total} bytes, not {mib} MiB"
    return None


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "check":
        why = check(path, int(sys.argv[3]), int(sys.argv[4]))
        print("uffd-peer: ok" if why is None else f"uffd-peer: FAIL {why}", flush=True)
        sys.exit(0 if why is None else 1)
    if mode == "hold":
        conn, msg, fds, pid, _ = accept(path)
        print(f"uffd-peer: holding ({len(fds)} fd, pid {pid})", flush=True)
        if fds:
            p = select.poll()
            p.register(fds[0], select.POLLIN)
            p.poll()
            print("uffd-peer: fault pending", flush=True)
        while True:
            time.sleep(3600)
    sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
