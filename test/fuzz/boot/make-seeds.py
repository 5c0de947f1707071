#!/usr/bin/env python3
"""Writes a small seed corpus for fuzz-loader: a valid two-segment ELF vmlinux
and a valid protocol 2.15 bzImage, both shaped for its 4 MiB guest.
Usage: make-seeds.py DIR"""
import os
import struct
import sys


def elf():
    eh = struct.pack('<4sBBBBB7xHHIQQQIHHHHHH', b'\x7fELF', 2, 1, 1, 0, 0, 2, 62, 1,
                     0x100010, 64, 0, 0, 64, 56, 2, 0, 0, 0)
    ph0 = struct.pack('<IIQQQQQQ', 1, 5, 0x200, 0xffffffff81000000, 0x100000, 0x100, 0x2000, 0x1000)
    ph1 = struct.pack('<IIQQQQQQ', 1, 6, 0x300, 0, 0x200000, 0x10, 0x10, 0x1000)
    body = eh + ph0 + ph1
    return body + bytes(0x200 - len(body)) + bytes(range(256)) + bytes(16)


def bzimage():
    img = bytearray(2 * 512 + 0x1000)
    hdr_end = 0x1f1 + 123
    struct.pack_into('<B', img, 0x1f1, 1)                   # setup_sects
    struct.pack_into('<H', img, 0x1fe, 0xaa55)              # boot_flag
    struct.pack_into('<BB', img, 0x200, 0xeb, hdr_end - 0x202)
    img[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', img, 0x206, 0x020f)              # version
    struct.pack_into('<B', img, 0x211, 1)                   # loadflags: LOADED_HIGH
    struct.pack_into('<I', img, 0x22c, 0x7fffffff)          # initrd_addr_max
    struct.pack_into('<I', img, 0x230, 0x200000)            # kernel_alignment
    struct.pack_into('<BBH', img, 0x234, 1, 21, 1)          # relocatable, min_alignment, xloadflags
    struct.pack_into('<Q', img, 0x258, 0x200000)            # pref_address
    struct.pack_into('<I', img, 0x260, 0x3000)              # init_size
    return bytes(img)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in (('seed-elf', elf()), ('seed-bzimage', bzimage())):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
