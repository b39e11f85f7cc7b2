/* placeholder until the daemon main lands */
#include "config.h"
#include <stdio.h>
int main(void) {
  fputs("pprofd: not yet built\n", stderr);
  return 1;
}
