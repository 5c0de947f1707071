/* libFuzzer: argv → plan. The input is split at NUL bytes into arguments
 * after a fixed prefix that makes most runs reach the deeper checks; the plan
 * builder only reads (realpath, stat, mountinfo), so fuzzing it is safe. */
#include <elf.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jailer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The planner accepts only a static ELF as exec file: write a minimal one. */
static char exec_file[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
	} img = { 0 };
	int fd;

	snprintf(exec_file, sizeof(exec_file), "/tmp/fuzz-jailer-plan-vmm-%d", (int)getuid());
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_type = ET_EXEC;
	img.eh.e_phoff = sizeof(img.eh);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_LOAD;
	fd = open(exec_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd >= 0) {
		if (write(fd, &img, sizeof(img)) != (ssize_t)sizeof(img))
			exec_file[0] = '\0';
		close(fd);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jail_plan plan;
	struct jail_early early;
	char *argv[300], err[1024];
	char *buf = malloc(size + 1);
	int argc = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"jailer";
	if (size > 0 && buf[0] == 'P') {
		/* A valid base most of the flags build on. */
		char *prefix[] = { "--id", "fuzz", "--exec-file", exec_file, "--uid", "1", "--gid", "1",
				   "--chroot-base-dir", "/tmp", "--dry-run" };
		for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
			argv[argc++] = prefix[i];
	}
	for (char *a = buf + (size > 0 && buf[0] == 'P'); argc < 299 && a <= buf + size; a += strlen(a) + 1)
		argv[argc++] = a;
	argv[argc] = NULL;
	if (jail_plan_build(argc, argv, &plan, &early, err, sizeof(err)) >= 0)
		jail_plan_close(&plan);
	free(buf);
	return 0;
}
