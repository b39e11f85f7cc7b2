/* Explains a protobuf decoding failure: walks profile.proto at the wire
 * level and reports the first structural error with its byte offset and
 * field path, e.g. "malformed protobuf at byte 3470 in
 * Profile.sample[12].label[0]: truncated varint (value)". */
#ifndef PPROFD_PPROF_PBCHECK_H
#define PPROFD_PPROF_PBCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 when the wire structure is sound, else -EBADMSG and a message
 * in *ret_err (caller frees). */
int pprof_pbcheck(const uint8_t *data, size_t len, char **ret_err);

#endif
