#include "devices/i8042.h"

#include <pthread.h>
#include <stdlib.h>

#include "log.h"

#define STATUS_OBF 0x01 /* output buffer full: a byte waits at the data port */
#define STATUS_SYS 0x04 /* system flag: self test passed */
#define STATUS_CMD 0x08 /* last write was to the command port */

#define CMD_READ_CONFIG	 0x20
#define CMD_WRITE_CONFIG 0x60
#define CMD_DISABLE_AUX	 0xa7
#define CMD_ENABLE_AUX	 0xa8
#define CMD_TEST_AUX	 0xa9
#define CMD_SELF_TEST	 0xaa
#define CMD_TEST_KBD	 0xab
#define CMD_DISABLE_KBD	 0xad
#define CMD_ENABLE_KBD	 0xae
#define CMD_READ_OUTPUT	 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_PULSE_BASE	 0xf0 /* 0xf0-0xff pulse output lines whose bit is 0 */

#define OUTPUT_RESET_LINE 0x01 /* active low */

struct i8042 {
	pthread_mutex_t lock;
	uint8_t status;
	uint8_t config;
	uint8_t output_port;
	uint8_t out_byte;
	uint8_t pending_cmd; /* command waiting for its data byte, or 0 */
	void (*reset)(void *ctx);
	void *ctx;
};

struct i8042 *i8042_create(void (*reset)(void *ctx), void *ctx)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	k->status = STATUS_SYS;
	k->config = 0x45;	      /* kbd interrupt on, system flag, translation */
	k->output_port = 0x01 | 0x02; /* reset line inactive, A20 enabled */
	k->reset = reset;
	k->ctx = ctx;
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static void push_output(struct i8042 *k, uint8_t byte)
{
	k->out_byte = byte;
	k->status |= STATUS_OBF;
}

/* Called with the lock held; returns true if the guest asked for a CPU reset. */
static bool run_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CONFIG:
		push_output(k, k->config);
		break;
	case CMD_WRITE_CONFIG:
	case CMD_WRITE_OUTPUT:
		k->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		push_output(k, 0x55);
		break;
	case CMD_TEST_KBD:
	case CMD_TEST_AUX:
		push_output(k, 0x00);
		break;
	case CMD_READ_OUTPUT:
		push_output(k, k->output_port);
		break;
	case CMD_DISABLE_AUX:
		k->config |= 0x20;
		break;
	case CMD_ENABLE_AUX:
		k->config &= ~0x20;
		break;
	case CMD_DISABLE_KBD:
		k->config |= 0x10;
		break;
	case CMD_ENABLE_KBD:
		k->config &= ~0x10;
		break;
	default:
		if (cmd >= CMD_PULSE_BASE)
			return !(cmd & OUTPUT_RESET_LINE);
		log_once(log_debug, "i8042: ignoring command %#x", cmd);
		break;
	}
	return false;
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		data[0] = k->out_byte;
		k->status &= ~STATUS_OBF;
	} else {
		k->status &= ~STATUS_CMD;
		if (k->pending_cmd == CMD_WRITE_CONFIG) {
			k->config = data[0];
		} else if (k->pending_cmd == CMD_WRITE_OUTPUT) {
			k->output_port = data[0];
			reset = !(data[0] & OUTPUT_RESET_LINE);
		}
		/* Bytes for the keyboard itself are dropped: there is no keyboard. */
		k->pending_cmd = 0;
	}
	pthread_mutex_unlock(&k->lock);
	for (uint32_t i = 1; i < len && !is_write; i++)
		data[i] = 0xff;
	if (reset && k->reset)
		k->reset(k->ctx);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		data[0] = k->status;
	} else {
		k->status |= STATUS_CMD;
		reset = run_command(k, data[0]);
	}
	pthread_mutex_unlock(&k->lock);
	for (uint32_t i = 1; i < len && !is_write; i++)
		data[i] = 0xff;
	if (reset && k->reset)
		k->reset(k->ctx);
}
