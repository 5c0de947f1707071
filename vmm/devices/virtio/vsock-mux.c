#include "vsock-mux.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

static bool vsock_is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int vsock_connect_line_parse(const char *buf, size_t len, uint32_t *ret_port, size_t *ret_used)
{
	static const char keyword[] = "CONNECT";
	uint64_t port = 0;
	size_t i = 0, digits = 0;

	for (; i < len && i < sizeof(keyword) - 1; i++)
		if ((buf[i] & ~0x20) != keyword[i]) /* ASCII letters only: any case */
			return -EINVAL;
	if (i == len)
		goto need_more;
	if (!vsock_is_blank(buf[i]))
		return -EINVAL;
	while (i < len && vsock_is_blank(buf[i]))
		i++;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++, digits++) {
		port = port * 10 + (uint64_t)(buf[i] - '0');
		if (port > UINT32_MAX)
			return -EINVAL;
	}
	if (i == len)
		goto need_more;
	if (!digits)
		return -EINVAL;
	while (i < len && vsock_is_blank(buf[i]))
		i++;
	if (i < len && buf[i] == '\r')
		i++;
	if (i == len)
		goto need_more;
	if (buf[i] != '\n' || i + 1 > VSOCK_CONNECT_LINE_MAX)
		return -EINVAL;
	*ret_port = (uint32_t)port;
	*ret_used = i + 1;
	return 1;
need_more:
	return len >= VSOCK_CONNECT_LINE_MAX ? -EINVAL : 0;
}

void vsock_conn_table_init(struct vsock_conn_table *t)
{
	t->count = 0;
	t->next_local_port = VSOCK_LOCAL_PORT_FIRST;
}

struct vsock_conn *vsock_conn_table_find(const struct vsock_conn_table *t, uint32_t local_port,
					 uint32_t peer_port)
{
	for (unsigned i = 0; i < t->count; i++)
		if (t->conn[i]->local_port == local_port && t->conn[i]->peer_port == peer_port)
			return t->conn[i];
	return NULL;
}

struct vsock_conn *vsock_conn_table_add(struct vsock_conn_table *t)
{
	struct vsock_conn *c;

	if (t->count >= VSOCK_CONNS_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = -1;
	t->conn[t->count++] = c;
	return c;
}

struct vsock_conn *vsock_conn_table_take(struct vsock_conn_table *t, unsigned i)
{
	struct vsock_conn *c;

	if (i >= t->count)
		return NULL;
	c = t->conn[i];
	t->conn[i] = t->conn[--t->count];
	return c;
}

void vsock_conn_table_remove(struct vsock_conn_table *t, unsigned i)
{
	struct vsock_conn *c = vsock_conn_table_take(t, i);

	if (!c)
		return;
	vsock_conn_clear(c);
	free(c);
}

void vsock_conn_table_clear(struct vsock_conn_table *t)
{
	while (t->count)
		vsock_conn_table_remove(t, t->count - 1);
}

static bool vsock_local_port_used(const struct vsock_conn_table *t, uint32_t port)
{
	for (unsigned i = 0; i < t->count; i++)
		if (t->conn[i]->local_port == port)
			return true;
	return false;
}

int vsock_local_port_alloc(struct vsock_conn_table *t, uint32_t *ret)
{
	uint32_t port = t->next_local_port;

	if (t->count >= VSOCK_CONNS_MAX)
		return -ENOSPC;
	/* At most count ports are taken, so this ends within count + 1 steps. */
	while (vsock_local_port_used(t, port))
		port = port + 1 < VSOCK_LOCAL_PORT_END ? port + 1 : VSOCK_LOCAL_PORT_FIRST;
	t->next_local_port = port + 1 < VSOCK_LOCAL_PORT_END ? port + 1 : VSOCK_LOCAL_PORT_FIRST;
	*ret = port;
	return 0;
}
