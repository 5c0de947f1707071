#!/usr/bin/env python3
"""Host-side checks for cpu-templates.bats, written apart from ember's C code
so that a wrong rule in ember fails the suite on Intel and AMD alike.

  cpu-template-check.py rule NAME
      Firecracker's rule (static_cpu_templates/mod.rs, cpu_model.rs) on this
      host, from /proc/cpuinfo: prints "applies", or the exact InstanceStart
      error ember must give.
  cpu-template-check.py leaves TEMPLATE.json PROBE_OUTPUT [--pvm]
      Every modifier of the template (Firecracker's JSON form) on a leaf the
      guest printed (PROBE-INFO cpuid ...) must hold: the register's bits
      under 0/1 equal them. Under PVM, leaves 1, 7 and 0xd are the host's whatever
      the VMM set (design.md section 4): they are skipped, saying so. A leaf
      the guest cannot see fails. Prints one line per modifier; exits 1 on a
      mismatch.
"""
import json
import re
import sys

PREFIX = "Start microvm error: Failed to get CPU template: "
VENDOR = PREFIX + "CPU vendor mismatched between actual CPU and CPU template."
MODEL = PREFIX + "The current CPU model is not permitted to apply the CPU template."
SKYLAKE, CASCADE_LAKE, ICE_LAKE, MILAN = 0x50654, 0x50657, 0x606A6, 0xA00F11
RULES = {
    "C3": ("GenuineIntel", (SKYLAKE, CASCADE_LAKE, ICE_LAKE)),
    "T2": ("GenuineIntel", (SKYLAKE, CASCADE_LAKE, ICE_LAKE)),
    "T2S": ("GenuineIntel", (SKYLAKE, CASCADE_LAKE)),
    "T2CL": ("GenuineIntel", (CASCADE_LAKE, ICE_LAKE)),
    "T2A": ("AuthenticAMD", (MILAN,)),
}
REGS = {"eax": 0, "ebx": 1, "ecx": 2, "edx": 3}


def host_cpu():
    info = {}
    for line in open("/proc/cpuinfo"):
        if ":" not in line:
            if info:
                break
            continue
        k, v = (s.strip() for s in line.split(":", 1))
        info.setdefault(k, v)
    family, model, stepping = int(info["cpu family"]), int(info["model"]), int(info["stepping"])
    # CPUID.1.EAX as the kernel decoded it: family 0xf plus the extended
    # family, the extended model in bits 19:16 (families 6 and 0xf).
    base_family = min(family, 0xF)
    eax = (base_family << 8) | ((model & 0xF) << 4) | stepping | ((model >> 4) << 16)
    if family >= 0xF:
        eax |= (family - 0xF) << 20
    return info["vendor_id"], eax


def rule(name):
    vendor, models = RULES[name]
    host_vendor, eax = host_cpu()
    if host_vendor != vendor:
        return VENDOR
    return "applies" if eax in models else MODEL


def bitmap(s):
    digits = s[2:] if s.startswith("0b") else s
    filt = value = 0
    for i, c in enumerate(reversed(digits.replace("_", ""))):
        if c != "x":
            filt |= 1 << i
        if c == "1":
            value |= 1 << i
    return filt, value


def leaves(template, output, pvm):
    seen = {}
    for m in re.finditer(r"^PROBE-INFO cpuid (0x[0-9a-f]+) (0x[0-9a-f]+) ((?:0x[0-9a-f]+ ?){4})$", output, re.M):
        seen[(int(m.group(1), 16), int(m.group(2), 16))] = [int(x, 16) for x in m.group(3).split()]
    bad = checked = 0
    for leaf in template.get("cpuid_modifiers", []):
        key = (int(leaf["leaf"], 0), int(leaf["subleaf"], 0))
        for mod in leaf["modifiers"]:
            what = "leaf %#x.%d %s" % (key[0], key[1], mod["register"])
            if pvm and key[0] in (1, 7, 0xD):
                print("skip %s: under PVM the host overwrites leaves 1, 7 and 0xd" % what)
                continue
            if key not in seen:
                print("FAIL %s: the guest printed no such leaf" % what)
                bad += 1
                continue
            filt, value = bitmap(mod["bitmap"])
            got = seen[key][REGS[mod["register"]]]
            ok = got & filt == value
            checked += 1
            print("%s %s: %#010x, template %s" % ("ok" if ok else "FAIL", what, got, mod["bitmap"]))
            bad += not ok
    print("checked=%d bad=%d" % (checked, bad))
    return 1 if bad or not checked else 0


def main():
    if sys.argv[1] == "rule":
        print(rule(sys.argv[2]))
        return 0
    template = json.load(open(sys.argv[2]))
    return leaves(template, open(sys.argv[3], errors="replace").read(), "--pvm" in sys.argv[4:])


if __name__ == "__main__":
    sys.exit(main())
