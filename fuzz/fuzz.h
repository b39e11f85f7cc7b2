/* libFuzzer harnesses (fuzz/fuzz_*.c). Each defines the libFuzzer entry
 * point; fuzz/replay.c gives it a main() that runs files through it, so the
 * same code is a clang -fsanitize=fuzzer program (scripts/fuzz) and a
 * regression test built by the normal build (tests/fuzz_replay.test.sh). */
#ifndef PPROFD_FUZZ_H
#define PPROFD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

#endif
