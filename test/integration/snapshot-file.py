#!/usr/bin/env python3
"""Edits an ember snapshot state file for the hostile-file tests of
snapshot.bats, re-computing the trailing CRC-64 (ECMA-182, as liblzma's
lzma_crc64) so that the parser behind the CRC check is what gets tested.

  snapshot-file.py FILE magic           another magic, CRC fixed
  snapshot-file.py FILE version MAJ MIN  another version, CRC fixed
  snapshot-file.py FILE section-len N    the first section's length set to N, CRC fixed
  snapshot-file.py FILE flip OFFSET      one bit flipped, CRC left as it was
  snapshot-file.py FILE crc              prints the stored and the computed CRC
  snapshot-file.py FILE section-patch TYPE OFFSET HEX
                                         bytes at OFFSET of the first section of TYPE replaced, CRC fixed
  snapshot-file.py FILE section-drop TYPE  the first section of TYPE removed (count fixed), CRC fixed
  snapshot-file.py FILE section-get TYPE OFFSET N  prints N bytes at OFFSET of that section, hex
"""
import struct
import sys

POLY = 0xC96C5795D7870F42


def crc64(data: bytes) -> int:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def find_section(body, stype):
    """(offset of its header, payload length) of the first section of stype."""
    count = struct.unpack_from("<I", body, 16)[0]
    off = 24
    for _ in range(count):
        t, _inst, n, _z = struct.unpack_from("<IIII", body, off)
        if t == stype:
            return off, n
        off += 16 + n
    raise SystemExit(f"no section of type {stype:#x}")


def main() -> int:
    path, op = sys.argv[1], sys.argv[2]
    data = bytearray(open(path, "rb").read())
    body = data[:-8]
    if op == "crc":
        print(f"{struct.unpack('<Q', data[-8:])[0]:016x} {crc64(bytes(body)):016x}")
        return 0
    if op == "magic":
        body[0:8] = b"NOTEMBER"
    elif op == "version":
        struct.pack_into("<HH", body, 8, int(sys.argv[3]), int(sys.argv[4]))
    elif op == "section-len":
        struct.pack_into("<I", body, 24 + 8, int(sys.argv[3]))
    elif op == "section-patch":
        off, n = find_section(body, int(sys.argv[3], 0))
        at, new = int(sys.argv[4]), bytes.fromhex(sys.argv[5])
        if at + len(new) > n:
            raise SystemExit("patch past the section")
        body[off + 16 + at:off + 16 + at + len(new)] = new
    elif op == "section-drop":
        off, n = find_section(body, int(sys.argv[3], 0))
        del body[off:off + 16 + n]
        struct.pack_into("<I", body, 16, struct.unpack_from("<I", body, 16)[0] - 1)
    elif op == "section-get":
        off, n = find_section(body, int(sys.argv[3], 0))
        at, k = int(sys.argv[4]), int(sys.argv[5])
        print(bytes(body[off + 16 + at:off + 16 + at + k]).hex())
        return 0
    elif op == "flip":
        data[int(sys.argv[3])] ^= 1
        open(path, "wb").write(data)
        return 0
    else:
        print(f"unknown operation {op}", file=sys.stderr)
        return 2
    open(path, "wb").write(bytes(body) + struct.pack("<Q", crc64(bytes(body))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
