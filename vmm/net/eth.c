#include "eth.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

int eth_parse(const uint8_t *frame, size_t len, struct eth_view *ret)
{
	if (len < ETH_HDR_LEN)
		return -EBADMSG;
	*ret = (struct eth_view){
		.dst = frame,
		.src = frame + ETH_ADDR_LEN,
		.type = net_get16(frame + 2 * ETH_ADDR_LEN),
		.payload = frame + ETH_HDR_LEN,
		.len = len - ETH_HDR_LEN,
	};
	return 0;
}

size_t eth_write(uint8_t *frame, const uint8_t dst[ETH_ADDR_LEN], const uint8_t src[ETH_ADDR_LEN], uint16_t type)
{
	memcpy(frame, dst, ETH_ADDR_LEN);
	memcpy(frame + ETH_ADDR_LEN, src, ETH_ADDR_LEN);
	net_put16(frame + 2 * ETH_ADDR_LEN, type);
	return ETH_HDR_LEN;
}
