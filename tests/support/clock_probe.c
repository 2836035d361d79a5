/* clock-probe COUNT INTERVAL_MS: reads the wall clock COUNT times, INTERVAL_MS apart, through the
 * C library (clock_gettime CLOCK_REALTIME and CLOCK_REALTIME_COARSE, gettimeofday, time, and
 * CLOCK_MONOTONIC) and through raw system calls (never skewed by mmchaos), one line per sample:
 *   raw_mono_ns raw_real_ns libc_real_ns libc_coarse_ns gettimeofday_ns time_s libc_mono_ns
 * Dynamically linked on purpose: it stands for a glibc engine. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(const struct timespec *t) {
  return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 10;
  int interval_ms = argc > 2 ? atoi(argv[2]) : 10;

  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < count; ++i) {
    struct timespec rm, rr, lr, lc, lm, pause = {0, interval_ms * 1000000L};
    struct timeval tv;
    time_t t;

    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &rm);
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &rr);
    clock_gettime(CLOCK_REALTIME, &lr);
    clock_gettime(CLOCK_REALTIME_COARSE, &lc);
    gettimeofday(&tv, NULL);
    t = time(NULL);
    clock_gettime(CLOCK_MONOTONIC, &lm);
    printf("%lld %lld %lld %lld %lld %lld %lld\n", ns(&rm), ns(&rr), ns(&lr), ns(&lc),
           (long long)tv.tv_sec * 1000000000LL + (long long)tv.tv_usec * 1000LL, (long long)t,
           ns(&lm));
    nanosleep(&pause, NULL);
  }
  return 0;
}
