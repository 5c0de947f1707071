#!/usr/bin/env python3
"""Host peers for vsock.bats, speaking to ember's vsock unix sockets.

  vsock-peer.py listen PATH [COUNT]     accept COUNT connections on PATH (a guest
                                        connecting to <uds_path>_<port>), echo every
                                        byte, check the probe's pattern; prints
                                        "echoed N ok|bad" per connection
  vsock-peer.py connect UDS PORT N      host -> guest: "CONNECT PORT\\n", expect
                                        "OK <port>\\n", send N pattern bytes, shut
                                        the write side, read N back and check them;
                                        prints "ok <local_port> <N>"
  vsock-peer.py many UDS PORT COUNT     COUNT connections in a row, each a 1-byte echo,
                                        opened and closed; prints "ok COUNT"
  vsock-peer.py line UDS TEXT           sends TEXT (Python escapes) and prints what
                                        came back before the close ("closed <bytes>")
  vsock-peer.py sink PATH               listens on PATH with a deep backlog and never
                                        accepts or reads (the hostile scenario's host)
  vsock-peer.py hold UDS PORT N         connects, writes N bytes (or until nothing is
                                        taken for 1 s) and never reads; prints
                                        "holding <local_port> <sent>" and sleeps until killed
  vsock-peer.py stall UDS TEXT          sends TEXT (half a CONNECT line), prints
                                        "stalled", then waits (at most 30 s) for
                                        the close: "closed after <seconds>"
Every wait is bounded (30 s); exit 1 on any mismatch."""
import os
import socket
import sys
import time


def pattern(start, n):
    return bytes(((i * 7 + 3) & 0xff) for i in range(start, start + n))


def listen(path, count):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    # a jailed ember runs as another uid: connecting needs write permission
    os.chmod(path, 0o777)
    srv.listen(8)
    srv.settimeout(60)
    print("listening", flush=True)
    for _ in range(count):
        c, _ = srv.accept()
        c.settimeout(30)
        total, good = 0, True
        while True:
            b = c.recv(65536)
            if not b:
                break
            good = good and b == pattern(total, len(b))
            total += len(b)
            c.sendall(b)
        c.close()
        print("echoed %d %s" % (total, "ok" if good else "bad"), flush=True)
    srv.close()
    os.unlink(path)


def connect_line(uds, port):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise SystemExit("closed before OK (got %r)" % line)
        line += b
    if not line.startswith(b"OK "):
        raise SystemExit("bad answer %r" % line)
    return s, int(line[3:])


def connect(uds, port, n):
    s, local = connect_line(uds, port)
    data = pattern(0, n)
    got = bytearray()
    sent = 0
    s.setblocking(False)
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        if sent < n:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
            if sent == n:
                s.shutdown(socket.SHUT_WR)
        try:
            b = s.recv(65536)
            if not b:
                break
            got += b
        except BlockingIOError:
            time.sleep(0.001)
    if bytes(got) != data:
        raise SystemExit("echo mismatch: %d of %d bytes" % (len(got), n))
    print("ok %d %d" % (local, n), flush=True)


def many(uds, port, count):
    for i in range(count):
        s, _ = connect_line(uds, port)
        s.sendall(b"\x03")
        s.shutdown(socket.SHUT_WR)
        if s.recv(1) != b"\x03":
            raise SystemExit("connection %d: no echo" % i)
        s.close()
    print("ok %d" % count, flush=True)


def line(uds, text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(uds)
    s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
    got = b""
    while True:
        try:
            b = s.recv(4096)
        except ConnectionResetError:
            b = b""
        if not b:
            break
        got += b
    print("closed %r" % got, flush=True)


def sink(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4096)
    print("listening", flush=True)
    time.sleep(600)


def hold(uds, port, n):
    s, local = connect_line(uds, port)
    s.setblocking(False)
    sent = 0
    deadline = time.time() + 10
    progress = time.time()
    # until N bytes are taken, or nothing was for 1 s (ember stopped reading)
    while sent < n and time.time() < deadline and time.time() - progress < 1:
        try:
            sent += s.send(b"x" * min(65536, n - sent))
            progress = time.time()
        except BlockingIOError:
            time.sleep(0.01)
    print("holding %d %d" % (local, sent), flush=True)
    time.sleep(600)


def stall(uds, text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(uds)
    s.sendall(text.encode())
    t0 = time.time()
    print("stalled", flush=True)
    try:
        got = s.recv(4096)
    except ConnectionResetError:
        got = b""
    if got:
        raise SystemExit("answered %r to half a line" % got)
    print("closed after %.1f" % (time.time() - t0), flush=True)


def main():
    a = sys.argv[1:]
    if a[0] == "listen":
        listen(a[1], int(a[2]) if len(a) > 2 else 1)
    elif a[0] == "connect":
        connect(a[1], int(a[2]), int(a[3]))
    elif a[0] == "many":
        many(a[1], int(a[2]), int(a[3]))
    elif a[0] == "line":
        line(a[1], a[2])
    elif a[0] == "sink":
        sink(a[1])
    elif a[0] == "stall":
        stall(a[1], a[2])
    elif a[0] == "hold":
        hold(a[1], int(a[2]), int(a[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
