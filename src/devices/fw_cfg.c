/*
 * QEMU fw_cfg, x86 I/O port flavour with DMA. Reference: QEMU docs/specs/fw_cfg.rst; where
 * the spec is silent we follow QEMU's hw/nvram/fw_cfg.c (access sizes, DMA register reset).
 *
 * Model:
 *  - Items are (key, bytes) pairs in a small array; files also carry a name. The current
 *    item is an index (the array may grow) and an offset that never passes the item's end,
 *    so reads past the end return 0 without moving it.
 *  - The selector key is looked up with FW_CFG_WRITE_CHANNEL masked off, as QEMU does. Keys
 *    with no item select "nothing": every read returns 0, DMA reads zero-fill.
 *  - DMA: the descriptor is copied out of guest RAM once; the buffer of a READ is checked as
 *    a whole (gpa_to_host with the full length) before anything is copied, so a transfer
 *    either completes or leaves RAM and the data offset untouched and reports ERROR. Bytes
 *    past the item's end are zeros. Every item is read-only: a WRITE of length > 0 reports
 *    ERROR (QEMU, too, accepts a zero-length write as a no-op).
 *  - All guest-triggered errors fail closed and are logged once.
 */
#include "devices/fw_cfg.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Items have 32-bit sizes (the FILE_DIR size field, DMA lengths). */
#define FW_CFG_MAX_ITEM_LEN UINT32_MAX

struct fw_cfg_item {
	uint16_t key; /* without FW_CFG_WRITE_CHANNEL */
	uint32_t len;
	uint8_t *data;			 /* NULL when len is 0 */
	char name[FW_CFG_MAX_FILE_PATH]; /* files only; "" for fixed items */
};

struct fw_cfg {
	pthread_mutex_t lock;
	struct guest_memory *mem;

	struct fw_cfg_item *items;
	size_t nitems;
	size_t capacity;
	size_t nfiles;

	long cur;	     /* index of the selected item, -1 for none */
	uint32_t cur_offset; /* <= items[cur].len */
	uint64_t dma_addr;   /* the DMA address register; 0 after each transfer */
};

static const uint8_t fw_cfg_signature[FW_CFG_SIG_SIZE] = {'Q', 'E', 'M', 'U'};

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static long fw_cfg_find_key(const struct fw_cfg *f, uint16_t key)
{
	key &= ~FW_CFG_WRITE_CHANNEL;
	for (size_t i = 0; i < f->nitems; i++)
		if (f->items[i].key == key)
			return (long)i;
	return -1;
}

static bool fw_cfg_has_name(const struct fw_cfg *f, const char *name)
{
	for (size_t i = 0; i < f->nitems; i++)
		if (f->items[i].name[0] && !strcmp(f->items[i].name, name))
			return true;
	return false;
}

/* Appends an item holding a copy of data. Caller holds the lock and checked the key. */
static int fw_cfg_append(struct fw_cfg *f, uint16_t key, const char *name, const void *data,
			 size_t len)
{
	struct fw_cfg_item *it;
	uint8_t *copy = NULL;

	if (f->nitems == f->capacity) {
		size_t cap = f->capacity ? 2 * f->capacity : 16;
		struct fw_cfg_item *items = reallocarray(f->items, cap, sizeof(*items));

		if (!items)
			return -ENOMEM;
		f->items = items;
		f->capacity = cap;
	}
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	it = &f->items[f->nitems++];
	memset(it, 0, sizeof(*it));
	it->key = key;
	it->len = (uint32_t)len;
	it->data = copy;
	if (name)
		strcpy(it->name, name); /* length checked by the caller */
	return 0;
}

static int fw_cfg_cmp_names(const void *a, const void *b)
{
	const struct fw_cfg_item *const *x = a;
	const struct fw_cfg_item *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Regenerates FW_CFG_FILE_DIR from the files. Caller holds the lock. */
static int fw_cfg_update_dir(struct fw_cfg *f)
{
	long dir_idx = fw_cfg_find_key(f, FW_CFG_FILE_DIR);
	const struct fw_cfg_item **files;
	struct fw_cfg_file *ent;
	uint8_t *buf;
	size_t len, n = 0;
	uint32_t count = htobe32((uint32_t)f->nfiles);

	if (dir_idx < 0)
		return -EINVAL;
	len = sizeof(count) + f->nfiles * sizeof(struct fw_cfg_file);
	buf = calloc(1, len);
	files = calloc(f->nfiles ? f->nfiles : 1, sizeof(*files));
	if (!buf || !files) {
		free(buf);
		free(files);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->nitems; i++)
		if (f->items[i].name[0])
			files[n++] = &f->items[i];
	qsort(files, n, sizeof(*files), fw_cfg_cmp_names);

	memcpy(buf, &count, sizeof(count));
	ent = (struct fw_cfg_file *)(buf + sizeof(count));
	for (size_t i = 0; i < n; i++) {
		ent[i].size = htobe32(files[i]->len);
		ent[i].select = htobe16(files[i]->key);
		memcpy(ent[i].name, files[i]->name, sizeof(ent[i].name));
	}
	free(files);

	free(f->items[dir_idx].data);
	f->items[dir_idx].data = buf;
	f->items[dir_idx].len = (uint32_t)len;
	return 0;
}

static bool fw_cfg_fixed_key_ok(uint16_t key)
{
	return !(key & FW_CFG_WRITE_CHANNEL) && (key & FW_CFG_ENTRY_MASK) < FW_CFG_FILE_FIRST;
}

int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t selector, const void *data, size_t len)
{
	int ret;

	if (!fw_cfg_fixed_key_ok(selector) || len > FW_CFG_MAX_ITEM_LEN || (len && !data))
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	if (fw_cfg_find_key(f, selector) >= 0)
		ret = -EEXIST;
	else
		ret = fw_cfg_append(f, selector, NULL, data, len);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

int fw_cfg_add_u16(struct fw_cfg *f, uint16_t selector, uint16_t v)
{
	uint16_t le = htole16(v);

	return fw_cfg_add_bytes(f, selector, &le, sizeof(le));
}

int fw_cfg_add_u32(struct fw_cfg *f, uint16_t selector, uint32_t v)
{
	uint32_t le = htole32(v);

	return fw_cfg_add_bytes(f, selector, &le, sizeof(le));
}

int fw_cfg_add_u64(struct fw_cfg *f, uint16_t selector, uint64_t v)
{
	uint64_t le = htole64(v);

	return fw_cfg_add_bytes(f, selector, &le, sizeof(le));
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len)
{
	size_t name_len;
	int ret;

	if (!name || len > FW_CFG_MAX_ITEM_LEN || (len && !data))
		return -EINVAL;
	name_len = strnlen(name, FW_CFG_MAX_FILE_PATH);
	if (name_len == 0 || name_len >= FW_CFG_MAX_FILE_PATH)
		return -EINVAL;

	pthread_mutex_lock(&f->lock);
	if (fw_cfg_has_name(f, name)) {
		ret = -EEXIST;
		goto out;
	}
	if (f->nfiles >= FW_CFG_MAX_FILES) {
		ret = -ENOSPC;
		goto out;
	}
	/* Files are never removed, so the next free file selector is FIRST + count. */
	ret = fw_cfg_append(f, (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles), name, data, len);
	if (ret)
		goto out;
	f->nfiles++;
	ret = fw_cfg_update_dir(f);
	if (ret) {
		/* Undo: the new file is the last item. */
		f->nfiles--;
		f->nitems--;
		free(f->items[f->nitems].data);
	}
out:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

struct fw_cfg *fw_cfg_create(struct guest_memory *mem)
{
	struct fw_cfg *f;
	int err;

	if (!mem) {
		errno = EINVAL;
		log_errorx("fw_cfg: no guest memory");
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		log_error("fw_cfg: allocating device");
		return NULL;
	}
	err = pthread_mutex_init(&f->lock, NULL);
	if (err) {
		free(f);
		errno = err;
		log_error("fw_cfg: mutex");
		return NULL;
	}
	f->mem = mem;
	f->cur = -1;

	err = fw_cfg_add_bytes(f, FW_CFG_SIGNATURE, fw_cfg_signature, sizeof(fw_cfg_signature));
	if (!err)
		err = fw_cfg_add_u32(f, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	if (!err)
		err = fw_cfg_add_bytes(f, FW_CFG_FILE_DIR, NULL, 0);
	if (!err) {
		pthread_mutex_lock(&f->lock);
		err = fw_cfg_update_dir(f); /* an empty directory: count 0 */
		/* Reset state: the signature is selected (QEMU fw_cfg_reset()). */
		f->cur = fw_cfg_find_key(f, FW_CFG_SIGNATURE);
		pthread_mutex_unlock(&f->lock);
	}
	if (err) {
		fw_cfg_destroy(f);
		errno = -err;
		log_error("fw_cfg: adding the standard items");
		return NULL;
	}
	return f;
}

void fw_cfg_destroy(struct fw_cfg *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nitems; i++)
		free(f->items[i].data);
	free(f->items);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* fw_cfg.rst, "Selector (Control) Register": selecting resets the data offset. */
static void fw_cfg_select(struct fw_cfg *f, uint16_t key)
{
	f->cur = fw_cfg_find_key(f, key);
	f->cur_offset = 0;
}

/* Bytes left in the current item from the data offset (0 when nothing is selected). */
static uint32_t fw_cfg_avail(const struct fw_cfg *f)
{
	if (f->cur < 0)
		return 0;
	return f->items[f->cur].len - f->cur_offset;
}

static uint8_t fw_cfg_read_byte(struct fw_cfg *f)
{
	if (!fw_cfg_avail(f))
		return 0;
	return f->items[f->cur].data[f->cur_offset++];
}

void fw_cfg_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct fw_cfg *f = opaque;

	pthread_mutex_lock(&f->lock);
	if (is_write) {
		/* QEMU's combined port: 16-bit writes select, 8-bit writes are data (ignored). */
		if (offset == FW_CFG_OFF_SELECTOR && len == 2)
			fw_cfg_select(f, (uint16_t)(data[0] | data[1] << 8));
	} else if (len == 1 && offset < FW_CFG_SEL_NR_PORTS) {
		/* QEMU reads data at either port; only 8-bit reads are valid. */
		data[0] = fw_cfg_read_byte(f);
	} else {
		memset(data, 0xff, len);
	}
	pthread_mutex_unlock(&f->lock);
}

/*
 * Runs one DMA operation on the current item (fw_cfg.rst, "Guest-side DMA Interface").
 * Returns the control value to write back: 0 or FW_CFG_DMA_CTL_ERROR.
 */
static uint32_t fw_cfg_dma_op(struct fw_cfg *f, uint32_t control, uint32_t length, uint64_t address)
{
	uint32_t avail = fw_cfg_avail(f);
	uint32_t n = length < avail ? length : avail;
	uint64_t end;
	uint8_t *host;

	/* READ wins over WRITE, WRITE over SKIP; none of them: only the select happens. */
	if (!(control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE | FW_CFG_DMA_CTL_SKIP)))
		return 0;
	if (length == 0)
		return 0;
	if (!(control & FW_CFG_DMA_CTL_READ) && (control & FW_CFG_DMA_CTL_WRITE)) {
		log_once(log_warnx, "fw_cfg: guest DMA write to a read-only item 0x%04x refused",
			 f->cur >= 0 ? f->items[f->cur].key : FW_CFG_INVALID);
		return FW_CFG_DMA_CTL_ERROR;
	}
	if (!(control & FW_CFG_DMA_CTL_READ)) { /* SKIP: stops at the item's end */
		f->cur_offset += n;
		return 0;
	}

	if (__builtin_add_overflow(address, (uint64_t)length, &end)) {
		log_once(log_warnx, "fw_cfg: guest DMA buffer 0x%llx+0x%x wraps",
			 (unsigned long long)address, length);
		return FW_CFG_DMA_CTL_ERROR;
	}
	host = gpa_to_host(f->mem, address, length);
	if (!host) {
		log_once(log_warnx, "fw_cfg: guest DMA buffer 0x%llx+0x%x outside RAM",
			 (unsigned long long)address, length);
		return FW_CFG_DMA_CTL_ERROR;
	}
	if (n)
		memcpy(host, f->items[f->cur].data + f->cur_offset, n);
	memset(host + n, 0, length - n); /* past the item's end: zeros */
	f->cur_offset += n;
	return 0;
}

static void fw_cfg_dma_transfer(struct fw_cfg *f)
{
	uint64_t desc_gpa = f->dma_addr;
	struct fw_cfg_dma_access desc;
	uint32_t control, status;

	f->dma_addr = 0; /* "The value for the register is 0 at startup and after an operation." */
	if (memory_read(f->mem, desc_gpa, &desc, sizeof(desc))) {
		/* As QEMU: report ERROR in control if at least that word is RAM. */
		status = htobe32(FW_CFG_DMA_CTL_ERROR);
		memory_write(f->mem, desc_gpa, &status, sizeof(status));
		log_once(log_warnx, "fw_cfg: guest DMA descriptor at 0x%llx outside RAM",
			 (unsigned long long)desc_gpa);
		return;
	}
	control = be32toh(desc.control);
	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(f, (uint16_t)(control >> 16));
	status = htobe32(fw_cfg_dma_op(f, control, be32toh(desc.length), be64toh(desc.address)));
	/* The descriptor was readable RAM, so this cannot fail. */
	memory_write(f->mem, desc_gpa + offsetof(struct fw_cfg_dma_access, control), &status,
		     sizeof(status));
}

void fw_cfg_dma_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct fw_cfg *f = opaque;

	if (!is_write) {
		/* The signature, big endian, any width (no lock: it is a constant). */
		for (uint32_t i = 0; i < len; i++) {
			uint64_t pos = offset + i;

			data[i] = pos < FW_CFG_DMA_NR_PORTS
				      ? (uint8_t)(FW_CFG_DMA_SIGNATURE >> (8 * (7 - pos)))
				      : 0xff;
		}
		return;
	}
	pthread_mutex_lock(&f->lock);
	if (len == 4 && offset == FW_CFG_OFF_DMA_HIGH) {
		f->dma_addr = (uint64_t)get_be32(data) << 32;
	} else if (len == 4 && offset == FW_CFG_OFF_DMA_LOW) {
		f->dma_addr |= get_be32(data);
		fw_cfg_dma_transfer(f);
	} else if (len == 8 && offset == FW_CFG_OFF_DMA_HIGH) {
		f->dma_addr = get_be64(data);
		fw_cfg_dma_transfer(f);
	}
	/* Other widths and offsets: ignored, as QEMU refuses them. */
	pthread_mutex_unlock(&f->lock);
}
