#!/usr/bin/env python3
"""The host side of mmds.bats, run inside the test's network namespace.

  mmds-peer.py count MMDS_IP OUT IFACE...
      opens an AF_PACKET socket on each IFACE (both directions), prints "ready", then counts every frame
      until SIGTERM: those to or from the MMDS (its MAC 06:01:23:45:67:01 as source or destination, ARP or
      IPv4 naming MMDS_IP) and all others. At SIGTERM it writes "IFACE mmds=N other=M" per IFACE to OUT.
  mmds-peer.py serve IP
      an HTTP/1.1 server on IP:80 (keep-alive) answering every GET with 200 and the text
      "host-peer <path>", printing "ready" once bound and "request <method> <path>" per request.
"""
import http.server
import select
import signal
import socket
import socketserver
import struct
import sys

ETH_P_ALL = 0x0003
MMDS_MAC = bytes.fromhex("060123456701")


def is_mmds(frame, ip):
    if len(frame) < 14:
        return False
    if frame[0:6] == MMDS_MAC or frame[6:12] == MMDS_MAC:
        return True
    etype = struct.unpack("!H", frame[12:14])[0]
    if etype == 0x0806 and len(frame) >= 42:
        return frame[28:32] == ip or frame[38:42] == ip
    if etype == 0x0800 and len(frame) >= 34:
        return frame[26:30] == ip or frame[30:34] == ip
    return False


def count(mmds_ip, out, ifaces):
    ip = socket.inet_aton(mmds_ip)
    socks = {}
    for name in ifaces:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[s] = name
    counts = {name: [0, 0] for name in ifaces}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("ready", flush=True)
    while not stop:
        try:
            ready, _, _ = select.select(list(socks), [], [], 0.2)
        except InterruptedError:
            continue
        for s in ready:
            frame = s.recv(65536)
            counts[socks[s]][0 if is_mmds(frame, ip) else 1] += 1
    with open(out, "w") as f:
        for name in ifaces:
            f.write("%s mmds=%d other=%d\n" % (name, counts[name][0], counts[name][1]))
    return 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("host-peer %s" % self.path).encode()
        print("request GET %s" % self.path, flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(ip):
    srv = Server((ip, 80), Handler)
    print("ready", flush=True)
    srv.serve_forever()


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "count":
        return count(sys.argv[2], sys.argv[3], sys.argv[4:])
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        return serve(sys.argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
