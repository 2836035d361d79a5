/* call-cost BATCHES CALLS: the cost of one clock_gettime(CLOCK_REALTIME) call through the C
 * library, as the median over BATCHES batches of CALLS calls each, in ns per call, on one line.
 * Dynamically linked on purpose: it stands for any glibc process on the host (uprobe cost tests
 * and bench/calls.sh). Timed with the raw system call, which no uprobe reaches. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long raw_ns(void) {
  struct timespec t;

  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int batches = argc > 1 ? atoi(argv[1]) : 9;
  int calls = argc > 2 ? atoi(argv[2]) : 10000;
  double *per = calloc((size_t)(batches > 0 ? batches : 1), sizeof(double));
  struct timespec ts;

  if (!per || batches <= 0 || calls <= 0) return 2;
  for (int b = 0; b < batches; ++b) {
    long long t0 = raw_ns();
    for (int i = 0; i < calls; ++i) clock_gettime(CLOCK_REALTIME, &ts);
    per[b] = (double)(raw_ns() - t0) / calls;
  }
  qsort(per, (size_t)batches, sizeof(double), cmp);
  printf("%.1f\n", per[batches / 2]);
  free(per);
  return 0;
}
