/* ember --dump-acpi DIR: the tables exactly as InstanceStart builds them
 * (the same configuration load, the same device plan, the same builder and
 * addresses), written as RSDP.dat, XSDT.dat, FACP.dat, APIC.dat and
 * DSDT.dat for iasl and for operators. Nothing touches KVM. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "cleanup.h"
#include "core/layout.h"
#include "devices/manager.h"
#include "exit_code.h"
#include "log.h"
#include "vmm.h"

/* DIR must be a directory this process may write into; refused by name. */
static int dump_open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_error("--dump-acpi: '%s' is not a directory: %s", dir, strerror(errno));
		return -1;
	}
	if (faccessat(fd, ".", W_OK, AT_EACCESS) < 0) {
		log_error("--dump-acpi: '%s' is not a writable directory: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int dump_write_file(int dirfd, const char *dir, const struct acpi_table_ref *t, const uint8_t *bytes)
{
	char name[16];
	_cleanup_close_ int fd = -1;
	size_t done = 0;

	memcpy(name, t->signature, 4);
	memcpy(name + 4, ".dat", 5);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_error("--dump-acpi: cannot create %s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	while (done < t->len) {
		ssize_t n = write(fd, bytes + done, t->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("--dump-acpi: cannot write %s/%s: %s", dir, name, n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int dump_tables(const struct ember *e, int dirfd, const char *dir)
{
	struct device_plan plan;
	struct acpi_image img;
	char why[256];
	int r = devices_plan(&e->config, &plan, why, sizeof(why));

	if (r < 0) {
		log_error("Building VMM configured from cmdline json failed: %s", why);
		return EXIT_CODE_GENERIC_ERROR;
	}
	r = acpi_build_vm(&e->config, &plan, &img);
	if (r < 0) {
		log_error("--dump-acpi: cannot build the ACPI tables: %s", strerror(-r));
		return EXIT_CODE_GENERIC_ERROR;
	}
	for (unsigned i = 0; r == 0 && i < ACPI_TABLES; i++)
		r = dump_write_file(dirfd, dir, &img.table[i], img.buf + (img.table[i].addr - LAYOUT_ACPI_RSDP));
	acpi_image_free(&img);
	if (r < 0)
		return EXIT_CODE_GENERIC_ERROR;
	log_info("Wrote the ACPI tables to %s", dir);
	return 0;
}

int ember_dump_acpi(struct ember *e)
{
	const char *dir = e->cli.value[ARG_DUMP_ACPI];
	_cleanup_close_ int dirfd = -1;
	int code = ember_logger_init(e);

	if (code)
		return code;
	dirfd = dump_open_dir(dir);
	if (dirfd < 0)
		return EXIT_CODE_GENERIC_ERROR;
	code = ember_config_init(e);
	if (code)
		return code;
	if (!e->config.boot.configured) {
		log_error("Start microvm error: Cannot start microvm without kernel configuration.");
		code = EXIT_CODE_BAD_CONFIGURATION;
	} else {
		code = dump_tables(e, dirfd, dir);
	}
	ember_config_exit(e);
	return code;
}
