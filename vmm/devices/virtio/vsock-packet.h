/* virtio-vsock packets (virtio 1.2 §5.10.6): the 44-byte little-endian
 * header every packet starts with, and the checks a packet from the guest's
 * TX queue passes before the muxer looks at it. Pure: no guest memory, no
 * sockets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSOCK_HDR_SIZE 44u
/* The largest payload ember accepts or sends in one packet (Linux's
 * VIRTIO_VSOCK_MAX_PKT_BUF_SIZE, Firecracker's MAX_PKT_BUF_SIZE). */
#define VSOCK_PKT_MAX 65536u
#define VSOCK_HOST_CID 2u
#define VSOCK_TYPE_STREAM 1u

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive (RCV) or send (SEND) no more. */
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_SHUTDOWN_BOTH (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)

/* The header in host byte order. */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_SIZE], struct vsock_hdr *ret);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_SIZE]);

/* What the device does with a TX packet, decided from its header alone. */
enum vsock_tx_verdict {
	VSOCK_TX_OK,        /* hand it to the muxer */
	VSOCK_TX_DROP,      /* malformed: count it, answer nothing */
	VSOCK_TX_RST,       /* well formed but refused: answer with a RST */
};

/* Why a TX packet was refused, for the counters and the rate-limited log. */
enum vsock_tx_fault {
	VSOCK_FAULT_NONE,
	VSOCK_FAULT_LEN,      /* len over VSOCK_PKT_MAX or over the chain's bytes */
	VSOCK_FAULT_SRC_CID,  /* not the guest's own CID */
	VSOCK_FAULT_DST_CID,  /* not the host */
	VSOCK_FAULT_TYPE,     /* not a stream */
	VSOCK_FAULT_OP,       /* an unknown op, or data on a non-RW op */
};

/* Checks a header from the guest: avail is the number of payload bytes its
 * descriptor chain holds after the header. A RST is never answered with a
 * RST (two devices would ping-pong). Writes the fault to *ret_fault. */
enum vsock_tx_verdict vsock_tx_check(const struct vsock_hdr *h, uint32_t guest_cid, size_t avail,
				     enum vsock_tx_fault *ret_fault);

/* The RST answering h, from the host to the guest (guest_cid, whatever CID
 * h claimed), between h's ports swapped. */
void vsock_hdr_rst_for(const struct vsock_hdr *h, uint32_t guest_cid, struct vsock_hdr *ret);
