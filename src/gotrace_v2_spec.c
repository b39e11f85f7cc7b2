/* Go 1.22+ traces: the timed event types of each trace version (doc 3.3,
 * 3.9). The argument count is fixed per type; it is the parser's main
 * defence against misreading a batch, so it is checked for every event. */
#include "config.h"

#include <stdio.h>

#include "gotrace_v2.h"

#define S(i) (1u << (i))

/* name, args after dt, own stack arg, string args, stack args, since */
const struct v2_spec v2_spec_table[V2_EV_TYPES] = {
    [V2_EV_PROCS_CHANGE] = {"ProcsChange", 2, 1, 0, S(1), 22},
    [V2_EV_PROC_START] = {"ProcStart", 2, -1, 0, 0, 22},
    [V2_EV_PROC_STOP] = {"ProcStop", 0, -1, 0, 0, 22},
    [V2_EV_PROC_STEAL] = {"ProcSteal", 3, -1, 0, 0, 22},
    [V2_EV_PROC_STATUS] = {"ProcStatus", 2, -1, 0, 0, 22},
    [V2_EV_GO_CREATE] = {"GoCreate", 3, 2, 0, S(1) | S(2), 22},
    [V2_EV_GO_CREATE_SYSCALL] = {"GoCreateSyscall", 1, -1, 0, 0, 22},
    [V2_EV_GO_START] = {"GoStart", 2, -1, 0, 0, 22},
    [V2_EV_GO_DESTROY] = {"GoDestroy", 0, -1, 0, 0, 22},
    [V2_EV_GO_DESTROY_SYSCALL] = {"GoDestroySyscall", 0, -1, 0, 0, 22},
    [V2_EV_GO_STOP] = {"GoStop", 2, 1, S(0), S(1), 22},
    [V2_EV_GO_BLOCK] = {"GoBlock", 2, 1, S(0), S(1), 22},
    [V2_EV_GO_UNBLOCK] = {"GoUnblock", 3, 2, 0, S(2), 22},
    [V2_EV_GO_SYSCALL_BEGIN] = {"GoSyscallBegin", 2, 1, 0, S(1), 22},
    [V2_EV_GO_SYSCALL_END] = {"GoSyscallEnd", 0, -1, 0, 0, 22},
    [V2_EV_GO_SYSCALL_END_BLOCKED] = {"GoSyscallEndBlocked", 0, -1, 0, 0, 22},
    [V2_EV_GO_STATUS] = {"GoStatus", 3, -1, 0, 0, 22},
    [V2_EV_STW_BEGIN] = {"STWBegin", 2, 1, S(0), S(1), 22},
    [V2_EV_STW_END] = {"STWEnd", 0, -1, 0, 0, 22},
    [V2_EV_GC_ACTIVE] = {"GCActive", 1, -1, 0, 0, 22},
    [V2_EV_GC_BEGIN] = {"GCBegin", 2, 1, 0, S(1), 22},
    [V2_EV_GC_END] = {"GCEnd", 1, -1, 0, 0, 22},
    [V2_EV_GC_SWEEP_ACTIVE] = {"GCSweepActive", 1, -1, 0, 0, 22},
    [V2_EV_GC_SWEEP_BEGIN] = {"GCSweepBegin", 1, 0, 0, S(0), 22},
    [V2_EV_GC_SWEEP_END] = {"GCSweepEnd", 2, -1, 0, 0, 22},
    [V2_EV_GC_ASSIST_ACTIVE] = {"GCMarkAssistActive", 1, -1, 0, 0, 22},
    [V2_EV_GC_ASSIST_BEGIN] = {"GCMarkAssistBegin", 1, 0, 0, S(0), 22},
    [V2_EV_GC_ASSIST_END] = {"GCMarkAssistEnd", 0, -1, 0, 0, 22},
    [V2_EV_HEAP_ALLOC] = {"HeapAlloc", 1, -1, 0, 0, 22},
    [V2_EV_HEAP_GOAL] = {"HeapGoal", 1, -1, 0, 0, 22},
    [V2_EV_GO_LABEL] = {"GoLabel", 1, -1, S(0), 0, 22},
    [V2_EV_TASK_BEGIN] = {"UserTaskBegin", 4, 3, S(2), S(3), 22},
    [V2_EV_TASK_END] = {"UserTaskEnd", 2, 1, 0, S(1), 22},
    [V2_EV_REGION_BEGIN] = {"UserRegionBegin", 3, 2, S(1), S(2), 22},
    [V2_EV_REGION_END] = {"UserRegionEnd", 3, 2, S(1), S(2), 22},
    [V2_EV_USER_LOG] = {"UserLog", 4, 3, S(1) | S(2), S(3), 22},
    [V2_EV_GO_SWITCH] = {"GoSwitch", 2, -1, 0, 0, 23},
    [V2_EV_GO_SWITCH_DESTROY] = {"GoSwitchDestroy", 2, -1, 0, 0, 23},
    [V2_EV_GO_CREATE_BLOCKED] = {"GoCreateBlocked", 3, 2, 0, S(1) | S(2), 23},
    [V2_EV_GO_STATUS_STACK] = {"GoStatusStack", 4, 3, 0, S(3), 23},
    /* Experimental AllocFree events: decoded for their size, then ignored. */
    [128] = {"Span", 3, -1, 0, 0, 23},
    [129] = {"SpanAlloc", 3, -1, 0, 0, 23},
    [130] = {"SpanFree", 1, -1, 0, 0, 23},
    [131] = {"HeapObject", 2, -1, 0, 0, 23},
    [132] = {"HeapObjectAlloc", 2, -1, 0, 0, 23},
    [133] = {"HeapObjectFree", 1, -1, 0, 0, 23},
    [134] = {"GoroutineStack", 2, -1, 0, 0, 23},
    [135] = {"GoroutineStackAlloc", 2, -1, 0, 0, 23},
    [136] = {"GoroutineStackFree", 1, -1, 0, 0, 23},
};

static const char *const structural[] = {
    [0] = "None",
    [V2_EV_BATCH] = "EventBatch",
    [V2_EV_STACKS] = "Stacks",
    [V2_EV_STACK] = "Stack",
    [V2_EV_STRINGS] = "Strings",
    [V2_EV_STRING] = "String",
    [V2_EV_CPU_SAMPLES] = "CPUSamples",
    [V2_EV_CPU_SAMPLE] = "CPUSample",
    [V2_EV_FREQUENCY] = "Frequency",
};

const struct v2_spec *v2_spec_get(unsigned type, int minor) {
  const struct v2_spec *sp;
  if (type >= V2_EV_TYPES)
    return NULL;
  sp = &v2_spec_table[type];
  if (!sp->name || minor < sp->min_minor)
    return NULL;
  return sp;
}

const char *v2_type_name(unsigned type) {
  static __thread char buf[16];
  if (type < sizeof(structural) / sizeof(structural[0]) && structural[type])
    return structural[type];
  if (type < V2_EV_TYPES && v2_spec_table[type].name)
    return v2_spec_table[type].name;
  switch (type) {
  case V2_EV_EXPERIMENTAL_BATCH:
    return "ExperimentalBatch";
  case V2_EV_SYNC:
    return "Sync";
  case V2_EV_CLOCK_SNAPSHOT:
    return "ClockSnapshot";
  case V2_EV_END_OF_GENERATION:
    return "EndOfGeneration";
  }
  snprintf(buf, sizeof(buf), "type %u", type);
  return buf;
}
