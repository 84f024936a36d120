# Example loadable allocation policies (configs/examples/policy_*.c), each
# built into build/examples/policy_*.so against the public policy interface
# only (mimicos/include/mimicos/policy_api.h), exactly as a researcher would
# build one outside the tree:
#   cc -shared -fPIC -Imimicos/include -o mypolicy.so mypolicy.c
# -Wl,-z,defs proves a policy needs no symbol from vmemu (only libc).
# Kept here because the Makefile includes */*.mk (one level deep), which does
# not reach configs/examples/.
EXAMPLE_SRC := $(wildcard configs/examples/policy_*.c)
EXAMPLE_SOS := $(patsubst configs/examples/%.c,$(BUILD)/examples/%.so,$(EXAMPLE_SRC))
EXAMPLE_FLAGS := -O2 -g -std=gnu11 -Wall -Wextra -shared -fPIC -Imimicos/include -Wl,-z,defs

all: $(EXAMPLE_SOS)

$(BUILD)/examples/%.so: configs/examples/%.c mimicos/include/mimicos/policy_api.h \
		mimicos/include/mimicos/mimicos.h
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_FLAGS) -o $@ $<

# test_policy_api dlopen()s build/examples/policy_nextfit.so.
$(BUILD)/tests/test_policy_api: | $(EXAMPLE_SOS)

# tests/unit/policy_v1.c: a policy built for policy ABI version 1, which
# test_policy_api loads to show that older policies still load.
POLICY_V1 := $(BUILD)/tests/policy_v1.so
all: $(POLICY_V1)
$(POLICY_V1): tests/unit/policy_v1.c mimicos/include/mimicos/policy_api.h \
		mimicos/include/mimicos/mimicos.h
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_FLAGS) -o $@ $<
$(BUILD)/tests/test_policy_api: | $(POLICY_V1)
