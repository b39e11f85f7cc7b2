# Builds the libFuzzer harnesses with clang (GNU make). Run through
# `make fuzz` in the build directory (mk/fuzz.am), which passes:
#   srcdir       the source tree, relative to the build directory
#   LIB_SOURCES  src_libpprofd_a_SOURCES (headers are filtered out)
#   LIB_GEN      generated library sources in the build directory
#   DEP_CFLAGS DEP_LIBS   from configure (pkg-config)
# The library is compiled again with clang: sanitizers and libFuzzer's
# coverage instrumentation have to cover the code under test, not only the
# harness. Output goes to fuzz/bin/ in the build directory.
FUZZ_CC ?= clang
FUZZ_SANITIZE ?= address,undefined
FUZZ_CFLAGS ?= -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all
O = fuzz/obj
BIN = fuzz/bin
HARNESSES = cfg format pprof trace_v1 trace_v2

CPPFLAGS_ALL = -DHAVE_CONFIG_H -I. -iquote $(srcdir)/src -iquote src -iquote $(srcdir)/fuzz \
	-DCONFIGFILE='"/etc/pprofd/pprofd.yaml"' -DSTATEDIR='"/var/lib/pprofd"'
CFLAGS_ALL = -std=gnu11 -pthread $(FUZZ_CFLAGS) $(DEP_CFLAGS) -MMD -MP

LIB_C = $(filter %.c,$(LIB_SOURCES))
LIB_OBJS = $(patsubst src/%.c,$(O)/%.o,$(LIB_C)) $(patsubst src/%.c,$(O)/gen-%.o,$(LIB_GEN))

all: $(addprefix $(BIN)/fuzz_,$(HARNESSES))

$(O)/%.o: $(srcdir)/src/%.c
	@mkdir -p $(O)
	@echo "  CLANG    $<"
	@$(FUZZ_CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZE) -c -o $@ $<

$(O)/gen-%.o: src/%.c
	@mkdir -p $(O)
	@echo "  CLANG    $<"
	@$(FUZZ_CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZE) -c -o $@ $<

$(O)/harness-%.o: $(srcdir)/fuzz/%.c
	@mkdir -p $(O)
	@echo "  CLANG    $<"
	@$(FUZZ_CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZE) -c -o $@ $<

# trace_v1 and trace_v2 are one harness with different seeds.
$(O)/harness-fuzz_trace_%.o: $(srcdir)/fuzz/fuzz_trace.c
	@mkdir -p $(O)
	@echo "  CLANG    $<"
	@$(FUZZ_CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fsanitize=fuzzer-no-link,$(FUZZ_SANITIZE) -c -o $@ $<

$(O)/libpprofd-fuzz.a: $(LIB_OBJS)
	@rm -f $@
	@ar cr $@ $^

$(BIN)/fuzz_%: $(O)/harness-fuzz_%.o $(O)/libpprofd-fuzz.a
	@mkdir -p $(BIN)
	@echo "  CLANGLD  $@"
	@$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SANITIZE) -pthread -o $@ $^ $(DEP_LIBS)

.PHONY: all
.SECONDARY:
-include $(wildcard $(O)/*.d)
