# kvmbox — see README.md. `make run` boots the default guest, `make test` runs every test.
CC ?= cc
BUILD ?= build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
          -D_GNU_SOURCE -DKVMBOX_VERSION='"$(VERSION)"' -Isrc -pthread -MMD -MP
LDFLAGS += -pthread
LDLIBS += -lseccomp
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	  -DKVMBOX_SANITIZE
LDFLAGS += -fsanitize=address,undefined
override BUILD := $(BUILD)/sanitize
endif

# End-to-end suites. The sanitizer build runs the fast ones (tiny and bare-metal guests, bad
# input, console): Linux boots there would only measure this host's ring-0 emulation again.
E2E_TESTS ?= tests/e2e
ifeq ($(SANITIZE),1)
E2E_TESTS := tests/e2e/test_guests.py tests/e2e/test_tiny_guests.py \
	tests/e2e/test_bad_input.py tests/e2e/test_console_tty.py
endif

SRCS := $(shell find src -name '*.c' | sort)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out src/main.c,$(SRCS)))
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# The default guest: a minimal kernel and a busybox initramfs (see guest/README.md).
GUEST_DIR ?= build/guest
GUEST_KERNEL := $(GUEST_DIR)/vmlinux
GUEST_BZIMAGE := $(GUEST_DIR)/bzImage
# Uncompressed: decompressing in the guest is ring-0 work, ~70 s where that is emulated.
GUEST_INITRD := $(GUEST_DIR)/initramfs.cpio
GUEST_CMDLINE := $(shell cat guest/cmdline 2>/dev/null)
# The same busybox system as an ext4 root filesystem for --disk (guest/build-rootfs.sh).
GUEST_ROOTFS := $(GUEST_DIR)/rootfs.ext4
# Nested shadow-paging hosts (see guest/README.md) cannot run these instructions in ring 0.
GUEST_CPU_FEATURES ?= -cx16,-xsave

# Bare-metal conformance guests (tests/guests/README.md).
GUESTS_DIR ?= build/guests

.PHONY: all kvmbox deps guest guests run run-disk test unit e2e clean format format-check fuzz fuzz-smoke \
	bench bench-smoke
all: kvmbox

kvmbox: $(BUILD)/kvmbox

$(BUILD)/kvmbox: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# main.c prints the version: recompile it whenever `git describe` says something new.
VERSION_STAMP := $(BUILD)/version.txt
$(shell mkdir -p $(BUILD) && [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(VERSION)" ] || \
	echo "$(VERSION)" > $(VERSION_STAMP))
$(MAIN_OBJ): $(VERSION_STAMP)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS) -lcmocka

deps:
	@scripts/install-deps.sh

guest: deps
	guest/build-kernel.sh $(GUEST_DIR)
	guest/build-initramfs.sh $(GUEST_INITRD)
	guest/build-rootfs.sh $(GUEST_ROOTFS)

run: deps kvmbox guest
	$(BUILD)/kvmbox run --kernel $(GUEST_KERNEL) --initrd $(GUEST_INITRD) \
		--cmdline "$(GUEST_CMDLINE)" --mem 256M --cpus 2 --cpu-features=$(GUEST_CPU_FEATURES)

# The same guest with its root filesystem on a virtio disk (a scratch copy: the image stays
# pristine), plus virtio-rng; the console stays the serial port.
run-disk: deps kvmbox guest
	cp $(GUEST_ROOTFS) $(BUILD)/rootfs-scratch.ext4
	$(BUILD)/kvmbox run --kernel $(GUEST_KERNEL) --disk path=$(BUILD)/rootfs-scratch.ext4 \
		--rng --cmdline "$(GUEST_CMDLINE) root=/dev/vda rw" --mem 256M --cpus 2 \
		--cpu-features=$(GUEST_CPU_FEATURES)

# The loader tests parse the real guest kernel (and corrupted copies of it).
guests:
	$(MAKE) -C tests/guests OUT=$(abspath $(GUESTS_DIR))

unit: $(UNIT_BINS) guest
	@KVMBOX_GUEST_BZIMAGE=$(GUEST_BZIMAGE) KVMBOX_GUEST_VMLINUX=$(GUEST_KERNEL) \
		scripts/run-unit-tests.sh $(UNIT_BINS)

e2e: kvmbox guest guests
	KVMBOX=$(BUILD)/kvmbox GUEST_DIR=$(GUEST_DIR) GUESTS_DIR=$(GUESTS_DIR) \
		GUEST_CPU_FEATURES=$(GUEST_CPU_FEATURES) \
		pytest-3 -v $(E2E_TESTS)

test: deps
	$(MAKE) format-check
	$(MAKE) unit
	$(MAKE) e2e
ifneq ($(SANITIZE),1)
	$(MAKE) bench-smoke
endif

# Benchmarks beside QEMU (bench/README.md): the report goes to bench/results/<date>.*;
# bench-smoke runs one short iteration of every figure (part of make test).
bench: deps kvmbox guest guests
	bench/run.py

bench-smoke: deps kvmbox guest guests
	bench/run.py --smoke --out $(BUILD)/bench

FORMAT_FILES = $(SRCS) $(shell find src tests/unit tests/fuzz -name '*.h') $(UNIT_SRCS) \
	$(wildcard tests/guests/*.c tests/guests/lib/*.[ch] tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format: clean"


# libFuzzer targets (tests/fuzz/README.md): FUZZ_SECONDS each; fuzz-smoke is CI's short run.
FUZZ_SECONDS ?= 300
fuzz: deps
	scripts/run-fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: deps
	scripts/run-fuzz.sh 20

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
