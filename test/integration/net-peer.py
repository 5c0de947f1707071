#!/usr/bin/env python3
"""The host side of net.bats, run inside the test's network namespace.

  net-peer.py listen PORT SECONDS
      prints "ready" once bound, then receives UDP datagrams on PORT until SECONDS pass without one (at least
      one must come first); prints "datagram <bytes> <first line>" for each.
  net-peer.py capture IFACE PORT SECONDS
      prints "ready" once bound, then reads frames on IFACE with AF_PACKET and PACKET_AUXDATA until an IPv4 UDP
      datagram to PORT comes; checks its checksum: complete and correct, or,
      when the kernel marks it TP_STATUS_CSUMNOTREADY (a partial checksum the
      kernel delivers unchecked), the correct pseudo-header sum. Prints
      "checksum complete|partial 0x<field> ok" or "checksum ... BAD ..." and
      exits 1 on a bad one or none.
  net-peer.py send IP PORT COUNT BYTES
      sends COUNT datagrams of BYTES payload bytes to IP:PORT.
"""
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_CSUMNOTREADY = 1 << 3
ETH_P_ALL = 0x0003


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def csum(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    return s


def listen(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    print("ready", flush=True)
    s.settimeout(120)  # the first one: the guest boots first
    n = 0
    while True:
        try:
            data = s.recv(70000)
        except socket.timeout:
            break
        n += 1
        first = data.split(b"\n", 1)[0].decode(errors="replace")
        print("datagram %d %s" % (len(data), first), flush=True)
        s.settimeout(float(seconds))
    return 0 if n else 1


def check_udp(frame, status):
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    udp = ip[ihl:total]
    field = struct.unpack("!H", udp[6:8])[0]
    pseudo = csum(ip[12:20]) + 17 + len(udp)
    if status & TP_STATUS_CSUMNOTREADY:
        want = fold(pseudo)
        kind = "partial"
        good = field == want
    else:
        kind = "complete"
        good = field != 0 and fold(csum(udp, pseudo)) == 0xFFFF
        want = None
    if good:
        print("checksum %s 0x%04x ok" % (kind, field))
        return 0
    print("checksum %s 0x%04x BAD (expected 0x%04x)" % (kind, field, want if want is not None else 0))
    return 1


def capture(iface, port, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            frame, anc, _, _ = s.recvmsg(70000, socket.CMSG_SPACE(64))
        except socket.timeout:
            break
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 15) * 4
        if struct.unpack("!H", frame[14 + ihl + 2 : 14 + ihl + 4])[0] != int(port):
            continue
        status = 0
        for level, kind, data in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                status = struct.unpack("I", data[:4])[0]
        return check_udp(frame, status)
    print("no UDP datagram to port %s on %s" % (port, iface))
    return 1


def send(ip, port, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(count)):
        s.sendto(bytes([65 + i % 26]) * int(size), (ip, int(port)))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    sys.exit({"listen": listen, "capture": capture, "send": send}[cmd](*sys.argv[2:]))
