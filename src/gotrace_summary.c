#include "config.h"

#include "gotrace.h"

#include <stdlib.h>
#include <string.h>

const int64_t trace_mmu_window_ns[TRACE_MMU_WINDOWS] = {1000000LL, 10000000LL, 100000000LL,
                                                         1000000000LL};

void trace_summary_init(struct trace_summary *s) {
  memset(s, 0, sizeof(*s));
  s->gc.heap_live_min = -1;
  s->gc.heap_live_max = -1;
  s->gc.heap_goal_max = -1;
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++)
    s->mmu[i] = -1;
}

void trace_stack_done(struct trace_stack *st) {
  for (size_t i = 0; i < st->n_frames; i++) {
    free(st->frames[i].function);
    free(st->frames[i].file);
  }
  free(st->frames);
  st->frames = NULL;
  st->n_frames = 0;
}

void trace_summary_done(struct trace_summary *s) {
  for (size_t i = 0; i < s->n_event_counts; i++)
    free(s->event_counts[i].name);
  free(s->event_counts);
  for (size_t i = 0; i < s->n_groups; i++) {
    free(s->groups[i].function);
    free(s->groups[i].worst);
  }
  free(s->groups);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    for (size_t i = 0; i < s->profiles[k].n_samples; i++) {
      if (s->frame_strings)
        free(s->profiles[k].samples[i].stack.frames);
      else
        trace_stack_done(&s->profiles[k].samples[i].stack);
    }
    free(s->profiles[k].samples);
  }
  free(s->frame_strings);
  free(s->mmu_error);
  for (size_t i = 0; i < s->n_annotations; i++) {
    free(s->annotations[i].kind);
    free(s->annotations[i].name);
  }
  free(s->annotations);
  trace_summary_init(s);
}
