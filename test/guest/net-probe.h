/* The probe guest's network stack, just enough to talk to the host kernel
 * across a TAP: Ethernet, ARP (ask and answer), IPv4, ICMP echo (ask and
 * answer), ICMP port unreachable (read), UDP (send with a partial checksum,
 * count what arrives). It drives the first virtio-net device on the command
 * line through virtio-probe.h, polling: receiveq is queue 0, transmitq 1. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "virtio-probe.h"

#define NET_DEVICE_ID 1u
#define NET_F_CSUM (1ull << 0)
#define NET_F_MAC (1ull << 5)
#define NET_RXQ 0u
#define NET_TXQ 1u
#define NET_HDR_LEN 12u
#define NET_BUF_LEN 2048u
#define NET_HDR_F_NEEDS_CSUM 1u
#define NET_SERVE_UDP_PORT 9001u
#define ETH_ARP 0x0806u
#define ETH_IPV4 0x0800u
#define ETH_LEN 14u
#define IP_LEN 20u

/* struct virtio_net_hdr_v1 */
struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

struct pnet {
	struct vp_dev dev;
	uint8_t mac[6];
	uint8_t ip[4];
	uint8_t peer[4];
	uint8_t peer_mac[6];
	bool peer_known;
	uint16_t ip_id;
	/* what the receive path saw */
	uint16_t echo_id;
	uint32_t echo_seen;     /* bit n: the reply with sequence n came */
	uint16_t unreach_want;  /* the UDP port whose port unreachable is awaited */
	bool unreach_seen;
	uint16_t unreach_port;  /* the quoted UDP destination port */
	uint16_t unreach_csum;  /* the quoted UDP checksum */
	uint32_t udp_count;     /* datagrams to NET_SERVE_UDP_PORT */
	uint64_t udp_bytes;
	uint32_t rx_frames;
	uint32_t rx_empty;      /* used RX chains that came back with no frame */
	/* Sees every received frame first (Ethernet header on); true when it
	 * took the frame, which is then not handled here. */
	bool (*rx_hook)(struct pnet *n, const uint8_t *f, unsigned len);
};

/* Finds and initialises the first virtio-net device (features `want`, plus
 * MAC when offered); reads probe.net_ip and probe.net_peer. Returns an error
 * text or NULL. Does not post receive buffers. */
const char *pnet_open(struct pnet *n, uint64_t want);
/* The same with the peer given (probe.net_peer is not read). */
const char *pnet_open_peer(struct pnet *n, uint64_t want, const uint8_t peer[4]);
/* Posts receive buffers on descriptors [first, end), each NET_BUF_LEN. */
void pnet_post_rx(struct pnet *n, unsigned first, unsigned end);
/* Handles every frame received so far (answers ARP and echo requests). */
void pnet_poll(struct pnet *n);
/* Sends the frame in pnet_tx_frame() of len bytes (Ethernet header included)
 * with header h; waits (bounded) until the device has used it. */
bool pnet_send(struct pnet *n, const struct net_hdr *h, unsigned len);
/* The transmit buffer, after its vnet header. */
uint8_t *pnet_tx_frame(void);
void pnet_send_arp_request(struct pnet *n);
void pnet_send_echo(struct pnet *n, uint16_t seq);
/* A UDP datagram of payload_len bytes (payload already at pnet_udp_payload())
 * to the peer's port, with NEEDS_CSUM and the pseudo-header sum in the
 * checksum field, as Linux sends under VIRTIO_NET_F_CSUM. Returns the full
 * checksum the datagram should end up with; *ret_partial gets the sum as sent. */
uint16_t pnet_send_udp_partial(struct pnet *n, uint16_t dport, unsigned payload_len, uint16_t *ret_partial);
uint8_t *pnet_udp_payload(void);
/* Polls until cond(n) or ms pass; returns cond(n). */
bool pnet_wait(struct pnet *n, bool (*cond)(const struct pnet *n), uint64_t ms);
/* Ethernet and IPv4 headers at f for a payload of len bytes (TTL 64, a new id). */
void pnet_ip_header(struct pnet *n, uint8_t *f, const uint8_t *dst_mac, const uint8_t *dst, uint8_t proto,
		    unsigned len);
/* Big-endian fields and RFC 1071 sums. */
uint16_t pnet_get16(const uint8_t *p);
void pnet_put16(uint8_t *p, uint16_t v);
uint32_t pnet_csum_add(uint32_t sum, const uint8_t *p, unsigned len);
uint16_t pnet_csum_fold(uint32_t sum);
/* "a.b.c.d" into ip; false when it is not one. */
bool pnet_parse_ip(const char *s, unsigned len, uint8_t ip[4]);
