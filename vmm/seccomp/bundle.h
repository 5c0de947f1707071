/* The compiled policy bundle: what `ember-seccomp compile` writes, what is
 * embedded in ember at build time, and what --seccomp-filter may name.
 *
 * Layout (little-endian, the only byte order of the arches this build knows):
 *   0  magic "EMBSECCB"      8  u32 version (1)     12 u32 audit arch
 *   16 u32 program count (4) 20 u32 reserved (0)
 *   24 per program: u32 id (0 vmm, 1 api, 2 vcpu, 3 baseline), u32 instruction
 *      count, then that many struct sock_filter (8 bytes each)
 *   end: SHA-256 over every byte before it.
 * The digest catches truncation and corruption; it is not a signature (the
 * file's owner is trusted as much as ember's own binary). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "policy.h"

#define BUNDLE_MAGIC "EMBSECCB"
#define BUNDLE_VERSION 1
#define BUNDLE_PROGS (SECCOMP_ROLE_COUNT + 1) /* the roles, then the baseline */
#define BUNDLE_DIGEST_SIZE 32

struct seccomp_bundle {
	uint32_t arch;
	struct compiled_prog progs[BUNDLE_PROGS]; /* index: enum seccomp_role, or COMPILE_BASELINE */
	uint8_t digest[BUNDLE_DIGEST_SIZE];
};

/* Compiles every role and the baseline of p. Returns 0 or -errno. */
int bundle_build(const struct policy *p, struct seccomp_bundle *ret);
/* Serializes b into a new heap buffer (caller frees). Returns 0 or -ENOMEM. */
int bundle_serialize(struct seccomp_bundle *b, uint8_t **ret, size_t *ret_len);
/* True when buf starts with the bundle magic (so it is not YAML). */
bool bundle_has_magic(const void *buf, size_t len);
/* Parses and verifies a serialized bundle (magic, version, arch, structure,
 * digest). On error writes a message to err and returns -EINVAL. */
int bundle_parse(const void *buf, size_t len, struct seccomp_bundle *ret, char *err, size_t errlen);
/* Frees the programs; accepts an empty bundle. */
void bundle_clear(struct seccomp_bundle *b);
/* SHA-256 of len bytes. */
void bundle_sha256(const void *buf, size_t len, uint8_t out[BUNDLE_DIGEST_SIZE]);
