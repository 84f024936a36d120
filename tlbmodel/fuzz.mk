# libFuzzer target over the trace readers (tlbmodel/trace.c):
#   make fuzz && build/fuzz/fuzz_trace -max_total_time=300 build/fuzz/corpus
# Needs clang with libFuzzer (Debian: clang-14). Builds tlbmodel's sources
# again with the sanitizers instead of using build/libtlbmodel.a.
FUZZ_CC ?= $(shell command -v clang-14 || command -v clang)
FUZZ_FLAGS := -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -DVMEMU_LIBFUZZER -D_GNU_SOURCE -Itlbmodel/include -Itlbmodel

.PHONY: fuzz
fuzz: $(BUILD)/fuzz/fuzz_trace

$(BUILD)/fuzz/fuzz_trace: bench/fuzz_trace.c tlbmodel/trace.c tlbmodel/include/tlbmodel/trace.h tlbmodel/internal.h
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ bench/fuzz_trace.c tlbmodel/trace.c
