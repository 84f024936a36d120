# vmemu build. `make` builds everything; `make test` and `make demo` first
# install any missing Debian package (see `make deps`), as README.md says.
#
# Modules (DESIGN.md): mimicos/ and tlbmodel/ are static libraries with no
# system dependencies; runtime/ is a static library; preload/ + runtime make
# build/libvmemu.so; cli/ + runtime make build/vmemu. Every source file found
# in a module folder is built, so adding a file needs no Makefile change.

CC      ?= cc
BUILD   := build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fPIC -D_GNU_SOURCE \
           -fvisibility=hidden -Imimicos/include -Itlbmodel/include -I.
DEPFLAGS = -MMD -MP

# Debian packages the build, the tests and the demo need.
DEB_PKGS := gcc make pkg-config libmimalloc-dev libinih-dev libcjson-dev libnuma-dev \
            libcmocka-dev liburing-dev python3 sqlite3 xz-utils coreutils util-linux

LIBS_RUNTIME := -linih -lcjson -lnuma -luring -lpthread -lm

MIMICOS_SRC := $(wildcard mimicos/*.c)
TLB_SRC     := $(wildcard tlbmodel/*.c)
RUNTIME_SRC := $(wildcard runtime/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
CLI_SRC     := $(wildcard cli/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
PROG_SRC    := $(wildcard tests/progs/*.c)
BENCH_SRC   := $(wildcard bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_MIMICOS := $(BUILD)/libmimicos.a
LIB_TLB     := $(BUILD)/libtlbmodel.a
LIB_RUNTIME := $(BUILD)/libruntime.a
PRELOAD     := $(BUILD)/libvmemu.so
CLI         := $(BUILD)/vmemu
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
PROG_BINS   := $(patsubst tests/progs/%.c,$(BUILD)/progs/%,$(PROG_SRC))
BENCH_BINS  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps test demo bench clean
all: $(PRELOAD) $(CLI) $(UNIT_BINS) $(PROG_BINS) $(BENCH_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB_MIMICOS): $(call obj,$(MIMICOS_SRC))
$(LIB_TLB): $(call obj,$(TLB_SRC))
$(LIB_RUNTIME): $(call obj,$(RUNTIME_SRC))
$(LIB_MIMICOS) $(LIB_TLB) $(LIB_RUNTIME):
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The preload: mimalloc serves the heap; everything else is linked in statically
# so the program sees only the interposed symbols.
$(PRELOAD): $(call obj,$(PRELOAD_SRC)) $(LIB_RUNTIME) $(LIB_MIMICOS) $(LIB_TLB)
	$(CC) -shared -o $@ $^ -lmimalloc $(LIBS_RUNTIME) -Wl,-z,defs

$(CLI): $(call obj,$(CLI_SRC)) $(LIB_RUNTIME) $(LIB_MIMICOS) $(LIB_TLB)
	$(CC) -o $@ $^ $(LIBS_RUNTIME)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_RUNTIME) $(LIB_MIMICOS) $(LIB_TLB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fvisibility=default -Imimicos -Itlbmodel -Iruntime -o $@ $< \
	    $(LIB_RUNTIME) $(LIB_MIMICOS) $(LIB_TLB) -lcmocka $(LIBS_RUNTIME)

# Test programs run natively and under the preload: plain C, no vmemu code.
$(BUILD)/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -D_GNU_SOURCE -o $@ $< -lpthread

$(BUILD)/bench/%: bench/%.c $(LIB_MIMICOS) $(LIB_TLB)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -D_GNU_SOURCE -Imimicos/include -Itlbmodel/include -o $@ $< \
	    $(LIB_MIMICOS) $(LIB_TLB) -luring -lpthread -lm

# Install what is missing (Debian). Runs apt-get only when something is.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps
	$(MAKE) all
	tests/run.sh

demo: deps
	$(MAKE) all
	$(CLI) run -- /usr/bin/python3 -c 'x = [i*i for i in range(3_000_000)]; print(sum(x))'

bench: all
	bench/run.sh

clean:
	rm -rf $(BUILD)

# Module-specific extra targets (e.g. fuzzers), kept beside their module.
-include $(wildcard */*.mk)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
