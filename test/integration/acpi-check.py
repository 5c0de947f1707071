#!/usr/bin/env python3
"""Checks a `ember --dump-acpi` directory with iasl and against the command line.

acpi-check.py DIR --vcpus N --cmdline 'the PROBE-INFO cmdline of the same config booted with acpi=off'

- every table's checksum (the RSDP's two), length and OEM id; the RSDP's
  revision 2 and an XSDT address in the BIOS area Linux scans; the XSDT's
  entries and the FADT's X_DSDT in that area, 16-byte aligned, not overlapping;
- `iasl -d` of each table with no error or warning (the RSDP: see iasl_rsdp);
- the DSDT's LNRO0005 devices (window, size, IRQ) against the command line's
  virtio_mmio.device= entries, in order, both ways;
- the MADT's local APICs against --vcpus, its IOAPIC address;
- COM1, the i8042 with _STA and \\_S5 in the DSDT;
- VGEN (VMGENCTR, ADDR), VCLK (AMZNC10C, a 4 KiB page) below the RSDP in the
  e820-reserved BIOS area, and GED (ACPI0013) with two edge interrupts right
  after the command line's last virtio IRQ, _EVT notifying VGEN and VCLK;
- the FADT's flags, reset and sleep registers at port 0x600, revision 6.5.
Prints one line per problem and exits 1 if there is any.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

BIOS_AREA = (0xE0000, 0x100000)
POWER_PORT = 0x600
problems = []


def problem(msg):
    problems.append(msg)
    print(f'acpi-check: {msg}')


def checksum_ok(data):
    return sum(data) % 256 == 0


def check_bytes(d):
    tables = {}
    for sig in ('RSDP', 'XSDT', 'FACP', 'APIC', 'DSDT'):
        path = os.path.join(d, sig + '.dat')
        if not os.path.exists(path):
            problem(f'{sig}.dat is missing')
            continue
        tables[sig] = open(path, 'rb').read()
    r = tables.get('RSDP', b'')
    if len(r) != 36 or r[:8] != b'RSD PTR ':
        problem(f'RSDP: {len(r)} bytes, signature {r[:8]!r}')
        return tables, {}
    if not checksum_ok(r[:20]) or not checksum_ok(r):
        problem('RSDP: bad checksum')
    if r[15] != 2:
        problem(f'RSDP: revision {r[15]}, not 2')
    xsdt_addr = struct.unpack_from('<Q', r, 24)[0]
    for sig in ('XSDT', 'FACP', 'APIC', 'DSDT'):
        t = tables.get(sig)
        if t is None:
            continue
        if t[:4] != sig.encode() or struct.unpack_from('<I', t, 4)[0] != len(t):
            problem(f'{sig}: signature {t[:4]!r}, length field vs file size {len(t)}')
        if not checksum_ok(t):
            problem(f'{sig}: bad checksum')
        if t[10:16] != b'EMBER ':
            problem(f'{sig}: OEM id {t[10:16]!r}')
    x, f = tables.get('XSDT', b''), tables.get('FACP', b'')
    addrs = {'RSDP': 0xE0000, 'XSDT': xsdt_addr}
    entries = [struct.unpack_from('<Q', x, 36 + 8 * i)[0] for i in range((len(x) - 36) // 8)]
    if len(entries) != 2:
        problem(f'XSDT: {len(entries)} entries, not 2 (FACP, APIC)')
    else:
        addrs['FACP'], addrs['APIC'] = entries
    if len(f) >= 148:
        addrs['DSDT'] = struct.unpack_from('<Q', f, 140)[0]
        if struct.unpack_from('<I', f, 40)[0] != 0:
            problem('FACP: the 32-bit DSDT field is set next to X_DSDT')
    spans = []
    for sig, a in addrs.items():
        n = len(tables.get(sig, b''))
        if not (BIOS_AREA[0] <= a and a + n <= BIOS_AREA[1]) or a % 16:
            problem(f'{sig} at {a:#x} ({n} bytes): not 16-byte aligned inside {BIOS_AREA[0]:#x}-{BIOS_AREA[1]:#x}')
        spans.append((a, a + n, sig))
    spans.sort()
    for (a0, e0, s0), (a1, _, s1) in zip(spans, spans[1:]):
        if e0 > a1:
            problem(f'{s0} at {a0:#x} overlaps {s1} at {a1:#x}')
    return tables, addrs


def iasl(args, cwd):
    p = subprocess.run(['iasl'] + args, cwd=cwd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def iasl_noise(out):
    return [line for line in out.splitlines() if re.search(r'\b(error|warning)s?\b', line, re.I)
            and not re.search(r'\b0 Errors?, 0 Warnings?', line)]


def iasl_rsdp(work):
    """iasl 20200925 (Debian 12) cannot disassemble any RSDP file, not even the
    one it compiles from its own template: then the byte checks above stand for
    it, after showing iasl fails on its own template too."""
    rc, out = iasl(['-d', 'RSDP.dat'], work)
    if rc == 0 and os.path.exists(os.path.join(work, 'RSDP.dsl')):
        for line in iasl_noise(out):
            problem(f'iasl -d RSDP.dat: {line}')
        return
    tdir = tempfile.mkdtemp(prefix='acpi-check-rsdp.')
    try:
        iasl(['-T', 'RSDP'], tdir)
        iasl(['rsdp.asl'], tdir)
        trc, _ = iasl(['-d', 'rsdp.aml'], tdir)
    finally:
        shutil.rmtree(tdir, ignore_errors=True)
    if trc == 0:
        problem(f'iasl -d RSDP.dat failed (exit {rc}) though it disassembles its own RSDP template: {out.strip()[-200:]}')
    else:
        print('acpi-check: iasl cannot disassemble an RSDP, not even its own template: RSDP checked byte by byte')


def disassemble(d):
    work = tempfile.mkdtemp(prefix='acpi-check.')
    dsl = {}
    try:
        for sig in ('XSDT', 'FACP', 'APIC', 'DSDT', 'RSDP'):
            shutil.copy(os.path.join(d, sig + '.dat'), work)
        for sig in ('XSDT', 'FACP', 'APIC', 'DSDT'):
            rc, out = iasl(['-d', sig + '.dat'], work)
            path = os.path.join(work, sig + '.dsl')
            if rc != 0 or not os.path.exists(path):
                problem(f'iasl -d {sig}.dat failed (exit {rc}): {out.strip()[-300:]}')
                continue
            for line in iasl_noise(out):
                problem(f'iasl -d {sig}.dat: {line}')
            dsl[sig] = open(path).read()
        iasl_rsdp(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dsl


def device_blocks(dsdt):
    """(name, text) of each Device in the disassembly, by brace matching."""
    out = []
    for m in re.finditer(r'Device \((\w+)\)\s*\{', dsdt):
        depth, i = 1, m.end()
        while depth and i < len(dsdt):
            depth += {'{': 1, '}': -1}.get(dsdt[i], 0)
            i += 1
        out.append((m.group(1), dsdt[m.end():i]))
    return out


def check_dsdt(dsdt, cmdline):
    virtio = []
    for name, body in device_blocks(dsdt):
        if '"LNRO0005"' not in body:
            continue
        mem = re.search(r'Memory32Fixed \(ReadWrite,\s*0x([0-9A-F]+),\s*// Address Base\s*0x([0-9A-F]+),', body)
        irq = re.search(r'Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x([0-9A-F]+),',
                        body)
        if not mem or not irq:
            problem(f'DSDT: {name} (LNRO0005) lacks a Memory32Fixed or an edge, active-high Interrupt')
            continue
        virtio.append((int(mem.group(1), 16), int(mem.group(2), 16), int(irq.group(1), 16)))
    entries = [(int(a, 16), 4096, int(i)) for a, i in
               re.findall(r'virtio_mmio\.device=4K@0x([0-9a-fA-F]+):(\d+)', cmdline)]
    for e in entries:
        if e not in virtio:
            problem(f'DSDT: no LNRO0005 device for the command line entry 4K@{e[0]:#x}:{e[2]}')
    for v in virtio:
        if v not in entries:
            problem(f'DSDT: LNRO0005 window {v[0]:#x}+{v[1]:#x} IRQ {v[2]} has no virtio_mmio.device= entry')
    if not problems and virtio != entries:
        problem(f'DSDT: LNRO0005 devices in another order than the command line: {virtio} vs {entries}')
    print(f'acpi-check: {len(virtio)} LNRO0005 devices, {len(entries)} virtio_mmio.device= entries')
    blocks = dict(device_blocks(dsdt))
    com1, ps2 = blocks.get('COM1', ''), blocks.get('PS2', '')
    if 'EisaId ("PNP0501")' not in com1 or '0x03F8' not in com1 or not re.search(r'0x00000004,', com1):
        problem('DSDT: no COM1 (PNP0501, 0x3F8, IRQ 4)')
    if ('EisaId ("PNP0303")' not in ps2 or 'Method (_STA' not in ps2 or '0x0060' not in ps2 or
            '0x0064' not in ps2 or not re.search(r'IRQNoFlags \(\)\s*\{1\}', ps2)):
        problem('DSDT: no i8042 (PNP0303, 0x60 and 0x64, IRQ 1, _STA)')
    if not re.search(r'Name \(\\_S5, Package \(0x02\)[^{]*\{\s*0x05,', dsdt):
        problem('DSDT: no \\_S5 package with SLP_TYP 5')


def check_ged(dsdt, cmdline):
    """VGEN, VCLK and the GED whose two GSIs follow the virtio devices'."""
    blocks = dict(device_blocks(dsdt))
    vgen, vclk, ged = blocks.get('VGEN', ''), blocks.get('VCLK', ''), blocks.get('GED', '')
    addr = re.search(r'Name \(ADDR, Package \(0x02\)\s*\{\s*0x([0-9A-F]+),\s*(Zero|0x[0-9A-F]+)\s*\}', vgen)
    if ('Name (_HID, "VMGENCTR")' not in vgen or 'Name (_CID, "VM_Gen_Counter")' not in vgen or not addr):
        problem('DSDT: no VGEN (_HID "VMGENCTR", _CID "VM_Gen_Counter", ADDR Package (low, high))')
    elif not (0x9FC00 <= int(addr.group(1), 16) and int(addr.group(1), 16) + 16 <= 0xE0000 and addr.group(2) == 'Zero'):
        problem(f'DSDT: VGEN ADDR {addr.group(1)} is not below the RSDP in the e820-reserved range')
    page = re.search(r'Memory32Fixed \((?:ReadOnly|ReadWrite),\s*0x([0-9A-F]+),\s*// Address Base\s*0x([0-9A-F]+),', vclk)
    if 'Name (_HID, "AMZNC10C")' not in vclk or 'Name (_CID, "VMCLOCK")' not in vclk or not page:
        problem('DSDT: no VCLK (_HID "AMZNC10C", _CID "VMCLOCK", a Memory32Fixed)')
    elif int(page.group(2), 16) != 0x1000 or int(page.group(1), 16) % 0x1000 or not (
            0x9FC00 <= int(page.group(1), 16) and int(page.group(1), 16) + 0x1000 <= 0xE0000):
        problem(f'DSDT: VCLK page {page.group(1)}+{page.group(2)} is not a 4 KiB page below the RSDP')
    irqs = [int(i, 16) for i in re.findall(
        r'Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x([0-9A-F]+),', ged)]
    virtio = [int(i) for i in re.findall(r'virtio_mmio\.device=4K@0x[0-9a-fA-F]+:(\d+)', cmdline)]
    want = [max(virtio, default=4) + 1, max(virtio, default=4) + 2]
    if '"ACPI0013"' not in ged or irqs != want:
        problem(f'DSDT: no GED (ACPI0013) with edge interrupts {want} after the virtio IRQs: {irqs}')
        return
    for dev, gsi in (('VGEN', want[0]), ('VCLK', want[1])):
        if not re.search(r'If \(\(Arg0 == 0x%02X\)\)\s*\{\s*Notify \(\\_SB\.%s, 0x80\)' % (gsi, dev), ged):
            problem(f'DSDT: GED _EVT does not notify {dev} with 0x80 on GSI {gsi}')
    print(f'acpi-check: VGEN, VCLK, GED on GSIs {want[0]} and {want[1]}')


def field(dsl, name):
    m = re.search(r'(?m)^(?:\[[^\]]*\])?\s+' + re.escape(name) + r' : (\S+)', dsl)
    return m.group(1) if m else None


def gas_address(dsl, name):
    m = re.search(re.escape(name) + r' : \[Generic Address Structure\]\n.*?Space ID : (\S+).*?Address : (\S+)',
                  dsl, re.S)
    return (m.group(1), int(m.group(2), 16)) if m else (None, None)


def check_fadt(fadt, addrs):
    want = {'Revision': '06', 'FADT Minor Revision': '05', 'Hardware Reduced (V5)': '1',
            'Control Method Power Button (V1)': '1', 'Control Method Sleep Button (V1)': '1',
            'Reset Register Supported (V2)': '1', 'Value to cause reset': '01',
            '8042 Present on ports 60/64 (V2)': '1'}
    for k, v in want.items():
        if field(fadt, k) != v:
            problem(f'FACP: {k} is {field(fadt, k)}, not {v}')
    for reg in ('Reset Register', 'Sleep Control Register', 'Sleep Status Register'):
        space, addr = gas_address(fadt, reg)
        if space != '01' or addr != POWER_PORT:
            problem(f'FACP: {reg} is space {space} address {addr}, not SystemIO {POWER_PORT:#x}')
    m = re.search(r'\[08Ch 0140   8\]\s+DSDT Address : (\S+)', fadt)
    if not m or int(m.group(1), 16) != addrs.get('DSDT'):
        problem(f'FACP: X_DSDT {m.group(1) if m else None} vs {addrs.get("DSDT")}')


def check_madt(madt, vcpus):
    n = len(re.findall(r'Subtable Type : 00 \[Processor Local APIC\]', madt))
    if n != vcpus:
        problem(f'APIC: {n} local APICs, not {vcpus}')
    if not re.search(r'Subtable Type : 01 \[I/O APIC\](?:(?!Subtable Type).)*?Address : FEC00000', madt, re.S):
        problem('APIC: no I/O APIC at 0xFEC00000')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--vcpus', type=int, required=True)
    ap.add_argument('--cmdline', required=True)
    a = ap.parse_args()
    tables, addrs = check_bytes(a.dir)
    if len(tables) == 5:
        dsl = disassemble(a.dir)
        if 'DSDT' in dsl:
            check_dsdt(dsl['DSDT'], a.cmdline)
            check_ged(dsl['DSDT'], a.cmdline)
        if 'FACP' in dsl:
            check_fadt(dsl['FACP'], addrs)
        if 'APIC' in dsl:
            check_madt(dsl['APIC'], a.vcpus)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
