/* The boot scenario's check groups that live in their own files. */
#pragma once

void boot_cpuid(void);
void boot_serial(void);
void boot_initrd(void);
void boot_entry_state(void);
