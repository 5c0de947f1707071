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
		.src = frame + ETH_ALEN,
		.type = net_get16(frame + 2 * ETH_ALEN),
		.payload = frame + ETH_HDR_LEN,
		.len = len - ETH_HDR_LEN,
	};
	return 0;
}

size_t eth_write(uint8_t *frame, const uint8_t dst[ETH_ALEN], const uint8_t src[ETH_ALEN], uint16_t type)
{
	memcpy(frame, dst, ETH_ALEN);
	memcpy(frame + ETH_ALEN, src, ETH_ALEN);
	net_put16(frame + 2 * ETH_ALEN, type);
	return ETH_HDR_LEN;
}
