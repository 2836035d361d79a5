/* libmmchaos-clock.so: clock_skew_ms where the kernel forbids the uprobe mechanism. `mmchaos exec`
 * puts it in LD_PRELOAD with MMCHAOS_CLOCK_STATE naming the controller's shared-memory record
 * (bpf/clock.h). clock_gettime, gettimeofday, time and timespec_get return the true time unless
 * a controller is armed, alive (heartbeat) and in a burst on-phase, computed here from the
 * schedule with the data plane's own function. With no controller, a dead one or a rolled-back
 * one, every read is the true time.
 *
 * Plain C with no allocation: it runs inside the engine, possibly in signal handlers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "preload_record.h"
#include "tls.h"

#define EXPORT __attribute__((visibility("default")))

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);

static clock_gettime_fn real_clock_gettime;
static gettimeofday_fn real_gettimeofday;
static const char *state_path;
/* getpid() is a system call: cached, and renewed in a forked child. */
static _Atomic pid_t self_pid;

/* The mapped record. Old mappings are never unmapped (a reader may still be using one); a
 * controller restart leaks two pages, which is nothing. */
static const struct mmc_clock_state *_Atomic mapped_state;
static struct mmc_clock_counts *_Atomic mapped_counts;
/* The TLS pages of the same record (tls_preload.c), mapped along with it. */
static const struct mmc_tls_state *_Atomic mapped_tls;
static struct mmc_tls_counts *_Atomic mapped_tls_counts;
static dev_t mapped_dev;
static ino_t mapped_ino;
static _Atomic uint64_t next_check_ns;
static _Atomic int remapping;

static void resolve(void) {
  if (!real_clock_gettime) real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
  if (!real_gettimeofday) real_gettimeofday = (gettimeofday_fn)dlsym(RTLD_NEXT, "gettimeofday");
}

static void forked(void) { atomic_store(&self_pid, getpid()); }

__attribute__((constructor)) static void init(void) {
  resolve();
  state_path = getenv("MMCHAOS_CLOCK_STATE");
  atomic_store(&self_pid, getpid());
  pthread_atfork(NULL, NULL, forked);
}

static int true_clock_gettime(clockid_t id, struct timespec *tp) {
  if (real_clock_gettime) return real_clock_gettime(id, tp);
  return (int)syscall(SYS_clock_gettime, id, tp);
}

uint64_t mmc_preload_mono_now(void) {
  struct timespec ts;

  if (true_clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* An fd owned by its scope: closed on every way out (__attribute__((cleanup))). */
static void close_fd(const int *fd) {
  if (*fd >= 0) close(*fd);
}
#define SCOPED_FD __attribute__((cleanup(close_fd))) int

/* Maps the record at state_path if it is a new file (another inode than the one mapped). */
static void remap(void) {
  struct stat st;
  void *state, *counts = NULL;
  SCOPED_FD fd = -1;
  int rw = 1;

  if (!state_path || stat(state_path, &st) != 0) return;
  if (atomic_load(&mapped_state) && st.st_dev == mapped_dev && st.st_ino == mapped_ino) return;
  fd = open(state_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    rw = 0; /* not root: skew still applies, the reads cannot be counted */
    fd = open(state_path, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return;
  if (fstat(fd, &st) != 0 || st.st_size < MMC_CLOCK_FILE_SIZE) return;
  state = mmap(NULL, MMC_CLOCK_PAGE, PROT_READ, MAP_SHARED, fd, 0);
  if (rw)
    counts = mmap(NULL, MMC_CLOCK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, MMC_CLOCK_PAGE);
  if (state == MAP_FAILED || ((const struct mmc_clock_state *)state)->magic != MMC_CLOCK_MAGIC) {
    if (state != MAP_FAILED) munmap(state, MMC_CLOCK_PAGE);
    if (counts && counts != MAP_FAILED) munmap(counts, MMC_CLOCK_PAGE);
    return;
  }
  if (st.st_size >= MMC_RECORD_FILE_SIZE) {
    void *tls = mmap(NULL, MMC_CLOCK_PAGE, PROT_READ, MAP_SHARED, fd, MMC_TLS_STATE_OFF);
    void *tls_counts =
        rw ? mmap(NULL, MMC_CLOCK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, MMC_TLS_COUNTS_OFF)
           : MAP_FAILED;
    atomic_store(&mapped_tls_counts, tls_counts == MAP_FAILED ? NULL : tls_counts);
    atomic_store(&mapped_tls, tls == MAP_FAILED ? NULL : tls);
  }
  mapped_dev = st.st_dev;
  mapped_ino = st.st_ino;
  atomic_store(&mapped_counts, counts == MAP_FAILED ? NULL : counts);
  atomic_store(&mapped_state, state);
}

int mmc_preload_refresh_now(void) {
  if (atomic_exchange(&remapping, 1)) return 0;
  remap();
  atomic_store(&remapping, 0);
  return 1;
}

int mmc_preload_refresh(uint64_t now) {
  if (now < atomic_load(&next_check_ns)) return 0;
  atomic_store(&next_check_ns, now + 1000000000ULL);
  return mmc_preload_refresh_now();
}

const struct mmc_tls_state *mmc_preload_tls_state(void) { return atomic_load(&mapped_tls); }
struct mmc_tls_counts *mmc_preload_tls_counts(void) {
  return atomic_load(&mapped_tls_counts);
}

uint64_t mmc_preload_heartbeat(void) {
  const struct mmc_clock_state *s = atomic_load(&mapped_state);

  return s ? __atomic_load_n(&s->heartbeat_ns, __ATOMIC_ACQUIRE) : 0;
}

/* A consistent copy of the controller's fields (seqlock); 0 if the writer kept it busy. */
static int read_view(const struct mmc_clock_state *s, struct mmc_clock_view *v) {
  for (int tries = 0; tries < 64; ++tries) {
    uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if (a & 1) continue;
    v->armed = __atomic_load_n(&s->armed, __ATOMIC_RELAXED);
    v->dry_run = __atomic_load_n(&s->dry_run, __ATOMIC_RELAXED);
    v->clocks = __atomic_load_n(&s->clocks, __ATOMIC_RELAXED);
    v->skew_ns = __atomic_load_n(&s->skew_ns, __ATOMIC_RELAXED);
    v->epoch_ns = __atomic_load_n(&s->epoch_ns, __ATOMIC_RELAXED);
    v->on_ns = __atomic_load_n(&s->on_ns, __ATOMIC_RELAXED);
    v->off_ns = __atomic_load_n(&s->off_ns, __ATOMIC_RELAXED);
    v->heartbeat_timeout_ns = __atomic_load_n(&s->heartbeat_timeout_ns, __ATOMIC_RELAXED);
    v->rollout_threshold = __atomic_load_n(&s->rollout_threshold, __ATOMIC_RELAXED);
    v->seed = __atomic_load_n(&s->seed, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a) {
      v->heartbeat_ns = __atomic_load_n(&s->heartbeat_ns, __ATOMIC_ACQUIRE);
      return 1;
    }
  }
  return 0;
}

/* The offset to add to a read of class cls now: 0 for true time. Counts the decision. */
static int64_t skew_for(uint32_t cls) {
  const struct mmc_clock_state *s = atomic_load(&mapped_state);
  struct mmc_clock_view v;
  enum mmc_clock_verdict verdict = MMC_CLOCK_KEEP;
  struct mmc_clock_counts *c;
  uint64_t now;

  if (!state_path) return 0;
  now = mmc_preload_mono_now();
  if (s && read_view(s, &v))
    verdict = mmc_clock_decide(&v, cls, (__u64)atomic_load(&self_pid), now);
  else
    v.armed = 0;
  /* Nothing live from this record (none yet, disarmed, or its controller died): look for a
   * newer one, at most once a second and never waiting for another thread doing it. */
  if (verdict == MMC_CLOCK_KEEP &&
      (!s || !v.armed || !mmc_heartbeat_fresh(v.heartbeat_ns, v.heartbeat_timeout_ns, now)) &&
      mmc_preload_refresh(now)) {
    s = atomic_load(&mapped_state);
    if (s && read_view(s, &v))
      verdict = mmc_clock_decide(&v, cls, (__u64)atomic_load(&self_pid), now);
  }
  if (verdict == MMC_CLOCK_KEEP) return 0;
  c = atomic_load(&mapped_counts);
  if (c) __atomic_fetch_add(&c->reads[verdict == MMC_CLOCK_LIVE ? 0 : 1], 1, __ATOMIC_RELAXED);
  return verdict == MMC_CLOCK_LIVE ? v.skew_ns : 0;
}

/* glibc declares the result pointers nonnull, yet old code passes NULL: never write through it. */
static int present(const void *p) {
  const void *volatile v = p;

  return v != NULL;
}

static void shift_timespec(struct timespec *tp, int64_t skew) {
  __s64 sec = tp->tv_sec, nsec = tp->tv_nsec;

  mmc_clock_shift(&sec, &nsec, skew);
  tp->tv_sec = (time_t)sec;
  tp->tv_nsec = (long)nsec;
}

EXPORT int clock_gettime(clockid_t id, struct timespec *tp) {
  int rc;
  uint32_t cls;
  int64_t skew;

  if (!real_clock_gettime) resolve();
  rc = true_clock_gettime(id, tp);
  cls = mmc_clockid_class((int)id);
  if (rc != 0 || !present(tp) || !cls) return rc;
  skew = skew_for(cls);
  if (skew) shift_timespec(tp, skew);
  return rc;
}

EXPORT int gettimeofday(struct timeval *tv, void *tz) {
  int rc;
  int64_t skew;
  __s64 sec, nsec;

  if (!real_gettimeofday) resolve();
  rc = real_gettimeofday ? real_gettimeofday(tv, tz) : (int)syscall(SYS_gettimeofday, tv, tz);
  if (rc != 0 || !present(tv)) return rc;
  skew = skew_for(MMC_CLOCK_REALTIME);
  if (skew) {
    sec = tv->tv_sec;
    nsec = (__s64)tv->tv_usec * 1000;
    mmc_clock_shift(&sec, &nsec, skew);
    tv->tv_sec = (time_t)sec;
    tv->tv_usec = (suseconds_t)(nsec / 1000);
  }
  return rc;
}

EXPORT time_t time(time_t *out) {
  struct timespec ts;
  time_t t;

  if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return (time_t)-1;
  t = ts.tv_sec;
  if (out) *out = t;
  return t;
}

EXPORT int timespec_get(struct timespec *ts, int base) {
  if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) != 0) return 0;
  return base;
}
