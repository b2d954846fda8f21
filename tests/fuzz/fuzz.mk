# Builds the libFuzzer targets: tests/fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME, each linked
# against all of kvmbox except main.c, with ASan + UBSan. Driven by scripts/run-fuzz.sh:
#   make -f tests/fuzz/fuzz.mk [build/fuzz/fuzz_NAME ...]
FUZZ_CC ?= clang
FUZZ_OUT ?= build/fuzz

FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	       -std=gnu11 -D_GNU_SOURCE -DKVMBOX_VERSION='"fuzz"' -Isrc -Itests/fuzz -pthread \
	       -MMD -MP

LIB_SRCS := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJS := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(LIB_SRCS))
LIB := $(FUZZ_OUT)/libkvmbox.a
TARGET_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TARGETS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(TARGET_SRCS))

.PHONY: all
.SECONDARY:
all: $(TARGETS)

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/obj/tests/fuzz/fuzz_%.o $(LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ -lseccomp

-include $(shell find $(FUZZ_OUT)/obj -name '*.d' 2>/dev/null)
