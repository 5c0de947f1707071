#include "serial.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/bus.h"
#include "core/loop.h"
#include "core/device_env.h"
#include "log.h"
#include "out.h"
#include "token_bucket.h"

enum {
	REG_DATA = 0, REG_IER = 1, REG_IIR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define IER_RDA 0x01u
#define IER_THRE 0x02u
#define IER_MASK 0x0fu
#define IIR_NONE 0x01u
#define IIR_THRE 0x02u
#define IIR_RDA 0x04u
#define IIR_FIFO_BITS 0xc0u
#define LCR_DLAB 0x80u
#define MCR_OUT2 0x08u
#define MCR_LOOP 0x10u
#define MCR_MASK 0x1fu
#define LSR_DR 0x01u
#define LSR_THRE 0x20u
#define LSR_TEMT 0x40u
#define MSR_CTS 0x10u
#define MSR_DSR 0x20u
#define MSR_DCD 0x80u

/* Output goes out in batches (issue 30): one write(2) per byte was most of
 * the guest's cost of printing a line. A batch is written at a newline, when
 * it is full, and otherwise at most SERIAL_FLUSH_NS after its first byte, by
 * the vmm thread (a prompt without a newline must still appear). At most
 * PIPE_BUF, so a pipe takes a batch whole or not at all. */
#define SERIAL_TX_BATCH 64u
#define SERIAL_FLUSH_NS 1000000l

struct uart_metrics uart_metrics;
METRICS_GROUP(uart_metrics, "uart", UART_METRICS);

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thre_pending; /* THR emptied since the guest last read IIR */
	uint8_t fifo[SERIAL_FIFO_SIZE];
	unsigned head, count;
	struct out out; /* written without ever waiting (common/out.h) */
	/* The output budget: PUT /serial's rate_limiter or the default cap
	 * (one bucket, one counter: uart.rate_limiter_dropped_bytes). Zeroed,
	 * it is disabled and passes everything. */
	struct token_bucket out_limit;
	uint8_t tx[SERIAL_TX_BATCH];
	unsigned tx_len;
	bool flush_armed; /* the vmm thread's flush timer is (being) armed */
	int flush_fd;     /* eventfd: a vCPU asks the vmm thread to arm it */
	int timer_fd;     /* one-shot: flushes a batch no newline ended */
	int in_fd;
	bool in_paused; /* in_fd dropped from the loop while the FIFO is full */
	/* The console escape (stdin a terminal in raw mode): Ctrl-A x ends
	 * ember through escape_exit, Ctrl-A Ctrl-A sends one Ctrl-A. */
	void (*escape_exit)(void *ctx);
	void *escape_ctx;
	bool escape_pending;
	int irq_fd, wake_fd;
	struct event_loop *loop;      /* for input; NULL when in_fd is not read */
	struct event_loop *flush_loop; /* for the batch flush */
	int metrics; /* handle of uart_metrics as a source of "uart" */
};

int serial_irq_fd(const struct serial *s)
{
	return s->irq_fd;
}

void serial_set_output_limit(struct serial *s, const struct token_bucket_config *b)
{
	pthread_mutex_lock(&s->lock);
	token_bucket_init(&s->out_limit, b, tb_clock_monotonic());
	pthread_mutex_unlock(&s->lock);
}

void serial_set_console_escape(struct serial *s, void (*exit_fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&s->lock);
	s->escape_exit = exit_fn;
	s->escape_ctx = ctx;
	pthread_mutex_unlock(&s->lock);
}

static uint8_t serial_iir(const struct serial *s)
{
	if ((s->ier & IER_RDA) && s->count)
		return IIR_RDA;
	if ((s->ier & IER_THRE) && s->thre_pending)
		return IIR_THRE;
	return IIR_NONE;
}

/* An edge on the IRQ for a newly raised condition. On a PC the 8250's IRQ
 * output reaches the PIC only when MCR.OUT2 is set; in loopback it is cut. */
static void serial_raise(struct serial *s)
{
	uint64_t one = 1;

	if (serial_iir(s) == IIR_NONE || !(s->mcr & MCR_OUT2) || (s->mcr & MCR_LOOP))
		return;
	if (write(s->irq_fd, &one, sizeof(one)) < 0)
		uart_metrics.error_count++;
}

static void serial_push_input(struct serial *s, uint8_t b)
{
	if (s->count == SERIAL_FIFO_SIZE) {
		uart_metrics.missed_read_count++;
		return;
	}
	s->fifo[(s->head + s->count++) % SERIAL_FIFO_SIZE] = b;
}

/* With the lock held (a vCPU thread, or the vmm thread's timer): the write
 * must not sleep, or pausing (and the vmm thread, on the lock) would wait for
 * stdout's reader. What the sink cannot take now is dropped and counted, as a
 * UART without flow control loses what nobody receives. */
static void serial_flush(struct serial *s)
{
	uint64_t block_ns;
	ssize_t w;

	if (!s->tx_len)
		return;
	/* Over budget: dropped whole, as Firecracker's SerialOut drops a write
	 * its bucket cannot pay (or could only overpay). */
	if (token_bucket_enabled(&s->out_limit) &&
	    token_bucket_reduce(&s->out_limit, s->tx_len, tb_clock_monotonic(), &block_ns) != TB_SUCCESS) {
		uart_metrics.rate_limiter_dropped_bytes += s->tx_len;
		s->tx_len = 0;
		return;
	}
	w = out_write(s->out.fd, &s->out.mode, s->tx, s->tx_len);
	if (w > 0) {
		uart_metrics.write_count += (uint64_t)w;
		uart_metrics.flush_count++;
	}
	if (w != (ssize_t)s->tx_len) {
		uart_metrics.missed_write_count += s->tx_len - (w > 0 ? (unsigned)w : 0);
		if (w == -EAGAIN || w >= 0)
			log_rl(LOG_WARNING, "serial: output dropped: the output's reader is not keeping up");
		else
			log_rl(LOG_WARNING, "serial: output write failed: %s", strerror((int)-w));
	}
	s->tx_len = 0;
}

/* A vCPU thread, with the lock held. Without the flush timer (host-side
 * harnesses), every byte goes out at once. */
static void serial_transmit(struct serial *s, uint8_t b)
{
	uint64_t one = 1;

	if (s->mcr & MCR_LOOP) {
		serial_push_input(s, b);
	} else {
		s->tx[s->tx_len++] = b;
		if (b == '\n' || s->tx_len == SERIAL_TX_BATCH || s->timer_fd < 0) {
			serial_flush(s);
		} else if (!s->flush_armed) {
			s->flush_armed = true;
			if (write(s->flush_fd, &one, sizeof(one)) < 0)
				serial_flush(s); /* cannot happen before 2^64 - 1 wake-ups; never hold bytes */
		}
	}
	s->thre_pending = true;
	serial_raise(s);
}

static uint8_t serial_pop(struct serial *s)
{
	uint8_t b;
	uint64_t one = 1;

	if (!s->count)
		return 0;
	b = s->fifo[s->head];
	s->head = (s->head + 1) % SERIAL_FIFO_SIZE;
	s->count--;
	uart_metrics.read_count++;
	/* The vmm thread stopped reading input when the FIFO filled: wake it. */
	if (s->in_paused && s->count == 0 && write(s->wake_fd, &one, sizeof(one)) < 0)
		uart_metrics.error_count++;
	return b;
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((m & 0x01) << 5) | ((m & 0x02) << 3) | ((m & 0x04) << 4) | ((m & 0x08) << 4));
}

static uint8_t serial_read_reg(struct serial *s, uint64_t reg)
{
	uint8_t iir;

	switch (reg) {
	case REG_DATA:
		return (s->lcr & LCR_DLAB) ? s->dll : serial_pop(s);
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR:
		iir = serial_iir(s);
		if (iir == IIR_THRE) /* reading IIR acknowledges a THRE interrupt */
			s->thre_pending = false;
		return iir | IIR_FIFO_BITS;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (s->count ? LSR_DR : 0);
	case REG_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRE with the transmitter empty interrupts at once (16550A). */
		if ((v & IER_THRE) && !(s->ier & IER_THRE))
			s->thre_pending = true;
		s->ier = v & IER_MASK;
		serial_raise(s);
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & MCR_MASK;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* FCR: the FIFO is always on; LSR and MSR are read-only */
		break;
	}
}

static void serial_bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, offset);
	for (uint32_t i = 1; i < len; i++)
		data[i] = 0;
	pthread_mutex_unlock(&s->lock);
}

static void serial_bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, offset, data[0]);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = { .read = serial_bus_read, .write = serial_bus_write };

/* A byte typed on the console terminal (kvmtool's term.c): Ctrl-A starts an
 * escape; then x ends ember, Ctrl-A sends one Ctrl-A, and any other key goes
 * to the guest alone. Returns whether ember is to end. */
#define SERIAL_ESCAPE 0x01u
static bool serial_console_byte(struct serial *s, uint8_t b)
{
	if (s->escape_pending) {
		s->escape_pending = false;
		if (b == 'x')
			return true;
	} else if (b == SERIAL_ESCAPE) {
		s->escape_pending = true;
		return false;
	}
	serial_push_input(s, b);
	return false;
}

/* vmm thread: input is ready on in_fd. */
static void serial_on_input(void *ctx, uint32_t events)
{
	struct serial *s = ctx;
	uint8_t buf[SERIAL_FIFO_SIZE];
	bool quit = false;
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	n = read(s->in_fd, buf, SERIAL_FIFO_SIZE - s->count);
	if (n > 0) {
		for (ssize_t i = 0; i < n && !quit; i++) {
			if (s->escape_exit)
				quit = serial_console_byte(s, buf[i]);
			else
				serial_push_input(s, buf[i]);
		}
		serial_raise(s);
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		loop_remove(s->loop, s->in_fd); /* EOF or a dead input: stop polling it */
		s->in_fd = -1;
	} else if (s->count == SERIAL_FIFO_SIZE) {
		loop_modify(s->loop, s->in_fd, 0);
		s->in_paused = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (quit) {
		log_info("Ctrl-A x on the console: stopping the microVM.");
		s->escape_exit(s->escape_ctx);
	}
}

/* vmm thread: the guest drained the FIFO; poll the input again. */
static void serial_on_wake(void *ctx, uint32_t events)
{
	struct serial *s = ctx;
	uint64_t v;

	if (read(s->wake_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->in_paused && s->in_fd >= 0) {
		loop_modify(s->loop, s->in_fd, EPOLLIN);
		s->in_paused = false;
	}
	pthread_mutex_unlock(&s->lock);
}

/* vmm thread: a vCPU started a batch; flush it SERIAL_FLUSH_NS from now
 * unless a newline does first. */
static void serial_on_flush_request(void *ctx, uint32_t events)
{
	struct serial *s = ctx;
	struct itimerspec at = { .it_value = { .tv_nsec = SERIAL_FLUSH_NS } };
	uint64_t v;

	if (read(s->flush_fd, &v, sizeof(v)) < 0)
		return;
	if (timerfd_settime(s->timer_fd, 0, &at, NULL) < 0) {
		pthread_mutex_lock(&s->lock);
		serial_flush(s);
		s->flush_armed = false;
		pthread_mutex_unlock(&s->lock);
	}
}

static void serial_on_flush_timer(void *ctx, uint32_t events)
{
	struct serial *s = ctx;
	uint64_t v;

	if (read(s->timer_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	serial_flush(s);
	s->flush_armed = false;
	pthread_mutex_unlock(&s->lock);
}

/* The batch flush needs the vmm loop; without it timer_fd stays -1 and
 * output is written byte by byte. */
static int serial_attach_flush(struct serial *s, struct event_loop *loop)
{
	int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int r;

	if (timer < 0)
		return -errno;
	r = loop_add(loop, s->flush_fd, EPOLLIN, serial_on_flush_request, s);
	if (r >= 0) {
		r = loop_add(loop, timer, EPOLLIN, serial_on_flush_timer, s);
		if (r < 0)
			loop_remove(loop, s->flush_fd);
	}
	if (r < 0) {
		close(timer);
		return r;
	}
	s->flush_loop = loop;
	s->timer_fd = timer;
	return 0;
}

static bool serial_input_usable(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	return isatty(fd) || S_ISFIFO(st.st_mode);
}

static int serial_attach(struct serial *s, const struct device_env *env, uint16_t port, unsigned irq, int in_fd)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)s->irq_fd, .gsi = irq };
	int r;

	if (env->vm_fd >= 0 && ioctl(env->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	r = bus_register(env->pio_bus, port, SERIAL_PORT_LEN, &serial_ops, s);
	/* Batches only for a VM's vCPUs: a host-side harness (vm_fd < 0) drives
	 * the registers itself and reads each byte back at once. */
	if (r >= 0 && env->loop && env->vm_fd >= 0)
		r = serial_attach_flush(s, env->loop);
	if (r < 0 || !serial_input_usable(in_fd) || !env->loop)
		return r;
	r = loop_add(env->loop, s->wake_fd, EPOLLIN, serial_on_wake, s);
	if (r < 0)
		return r;
	s->loop = env->loop;
	r = loop_add(env->loop, in_fd, EPOLLIN, serial_on_input, s);
	if (r < 0)
		return r;
	s->in_fd = in_fd;
	return 0;
}

int serial_create(const struct device_env *env, uint16_t port, unsigned irq, int out_fd, int in_fd,
		  struct serial **ret)
{
	struct serial *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->lcr = 0x03; /* 8N1 */
	s->mcr = MCR_OUT2;
	s->dll = 0x0c; /* 9600 baud */
	s->out = out_get(out_fd);
	s->in_fd = -1;
	s->timer_fd = -1;
	/* One UART per VM counts into the global uart_metrics. */
	s->metrics = metrics_register(&uart_metrics_group, NULL, &uart_metrics);
	s->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->flush_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irq_fd < 0 || s->wake_fd < 0 || s->flush_fd < 0) {
		r = -errno;
		serial_destroy(s);
		return r;
	}
	r = serial_attach(s, env, port, irq, in_fd);
	if (r < 0) {
		serial_destroy(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct serial *serial_destroy(struct serial *s)
{
	if (!s)
		return NULL;
	/* The vCPUs are stopped: what the guest printed last goes out now. */
	pthread_mutex_lock(&s->lock);
	serial_flush(s);
	pthread_mutex_unlock(&s->lock);
	if (s->flush_loop) {
		loop_remove(s->flush_loop, s->flush_fd);
		loop_remove(s->flush_loop, s->timer_fd);
	}
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->flush_fd >= 0)
		close(s->flush_fd);
	if (s->loop) {
		if (s->in_fd >= 0)
			loop_remove(s->loop, s->in_fd);
		loop_remove(s->loop, s->wake_fd);
	}
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	metrics_unregister(s->metrics);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

/* Snapshots: IER, LCR, MCR, SCR, DLL, DLM, the pending THRE and the input
 * FIFO's bytes in order (the guest has not read them yet). */
#define SERIAL_STATE_FIXED 8u

size_t serial_state_save(struct serial *s, uint8_t *buf, size_t size)
{
	size_t n;

	if (size < SERIAL_STATE_FIXED + SERIAL_FIFO_SIZE)
		return 0;
	pthread_mutex_lock(&s->lock);
	buf[0] = s->ier;
	buf[1] = s->lcr;
	buf[2] = s->mcr;
	buf[3] = s->scr;
	buf[4] = s->dll;
	buf[5] = s->dlm;
	buf[6] = s->thre_pending;
	buf[7] = (uint8_t)s->count;
	for (unsigned i = 0; i < s->count; i++)
		buf[SERIAL_STATE_FIXED + i] = s->fifo[(s->head + i) % SERIAL_FIFO_SIZE];
	n = SERIAL_STATE_FIXED + s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int serial_state_restore(struct serial *s, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (len < SERIAL_STATE_FIXED || buf[7] > SERIAL_FIFO_SIZE || len != SERIAL_STATE_FIXED + buf[7] ||
	    buf[6] > 1) {
		snprintf(err, errlen, "serial state of %zu bytes is malformed (FIFO count %u, at most %u)", len,
			 len >= SERIAL_STATE_FIXED ? buf[7] : 0, SERIAL_FIFO_SIZE);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	s->ier = buf[0] & IER_MASK;
	s->lcr = buf[1];
	s->mcr = buf[2] & MCR_MASK;
	s->scr = buf[3];
	s->dll = buf[4];
	s->dlm = buf[5];
	s->thre_pending = buf[6];
	s->head = 0;
	s->count = buf[7];
	memcpy(s->fifo, buf + SERIAL_STATE_FIXED, s->count);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
