/* CSS and JavaScript embedded in flame graph SVGs (see flamegraph.h). */
#ifndef PPROFD_FLAMEGRAPH_SCRIPT_H
#define PPROFD_FLAMEGRAPH_SCRIPT_H

extern const char flamegraph_style[];
extern const char flamegraph_script[];

#endif
