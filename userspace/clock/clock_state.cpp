#include "clock/clock_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "common/fd.h"
#include "common/safe_file.h"
#include "controller/registry.h"

namespace mmchaos {
namespace {

static_assert(sizeof(mmc_tls_state) <= MMC_CLOCK_PAGE, "the TLS state is one page");
static_assert(sizeof(mmc_tls_counts) <= MMC_CLOCK_PAGE, "the TLS counts are one page");

// The writer's side of a page's seqlock (the clock page and the TLS page alike): seq is odd
// while store() rewrites the fields, so a preload that read across the change retries.
template <typename Page, typename Store>
void SeqlockWrite(Page* p, Store&& store) {
  uint32_t seq = __atomic_load_n(&p->seq, __ATOMIC_RELAXED);
  __atomic_store_n(&p->seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  store(p);
  __atomic_store_n(&p->seq, seq + 2, __ATOMIC_RELEASE);
}

template <typename Page>
void Disarm(Page* p) {
  SeqlockWrite(p, [](Page* s) { __atomic_store_n(&s->armed, 0u, __ATOMIC_RELAXED); });
}

// The fields both pages have (FillCommonFields'), stored under the caller's seqlock write.
template <typename Page, typename Fields>
void StoreCommonFields(Page* s, const Fields& f) {
  __atomic_store_n(&s->armed, f.armed, __ATOMIC_RELAXED);
  __atomic_store_n(&s->dry_run, f.dry_run, __ATOMIC_RELAXED);
  __atomic_store_n(&s->seed, f.seed, __ATOMIC_RELAXED);
  __atomic_store_n(&s->epoch_ns, f.epoch_ns, __ATOMIC_RELAXED);
  __atomic_store_n(&s->on_ns, f.on_ns, __ATOMIC_RELAXED);
  __atomic_store_n(&s->off_ns, f.off_ns, __ATOMIC_RELAXED);
  __atomic_store_n(&s->heartbeat_timeout_ns, f.heartbeat_timeout_ns, __ATOMIC_RELAXED);
  __atomic_store_n(&s->rollout_threshold, f.rollout_threshold, __ATOMIC_RELAXED);
}

}  // namespace

std::string ClockStatePath(uint64_t cgroup_id) {
  return std::string(kRunDir) + "/clock-" + std::to_string(cgroup_id) + ".shm";
}

Result<ClockState> ClockState::Create(uint64_t cgroup_id) {
  // The preload trusts what it maps: only we may be able to write the directory it is in.
  if (auto d = EnsurePrivateDir(kRunDir, 0755); !d) return std::unexpected(d.error());
  ClockState cs;
  cs.path_ = ClockStatePath(cgroup_id);
  // Built under a temporary name and renamed into place: a preload never maps a half-made file.
  const std::string tmp = cs.path_ + ".tmp";
  ::unlink(tmp.c_str());
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return Fail("open(" + tmp + ")", errno, PrivilegeHint(errno));
  // Readable by an engine running as another user whatever our umask (it maps it read-only).
  if (::fchmod(fd.get(), 0644) != 0 || ::ftruncate(fd.get(), MMC_RECORD_FILE_SIZE) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail("ftruncate(" + tmp + ")", err);
  }
  void* m = ::mmap(nullptr, MMC_RECORD_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (m == MAP_FAILED) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail("mmap(" + tmp + ")", err);
  }
  cs.state_ = static_cast<mmc_clock_state*>(m);
  cs.counts_ = reinterpret_cast<mmc_clock_counts*>(static_cast<char*>(m) + MMC_CLOCK_PAGE);
  cs.tls_ = reinterpret_cast<mmc_tls_state*>(static_cast<char*>(m) + MMC_TLS_STATE_OFF);
  cs.tls_counts_ = reinterpret_cast<mmc_tls_counts*>(static_cast<char*>(m) + MMC_TLS_COUNTS_OFF);
  cs.state_->magic = MMC_CLOCK_MAGIC;
  cs.tls_->magic = MMC_TLS_MAGIC;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || ::rename(tmp.c_str(), cs.path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail("rename(" + tmp + ", " + cs.path_ + ")", err);
  }
  cs.dev_ = st.st_dev;
  cs.ino_ = st.st_ino;
  return cs;
}

ClockState::ClockState(ClockState&& o) noexcept
    : path_(std::move(o.path_)),
      state_(std::exchange(o.state_, nullptr)),
      counts_(std::exchange(o.counts_, nullptr)),
      tls_(std::exchange(o.tls_, nullptr)),
      tls_counts_(std::exchange(o.tls_counts_, nullptr)),
      dev_(o.dev_),
      ino_(o.ino_),
      req_tail_(o.req_tail_) {}

ClockState::~ClockState() {
  if (!state_) return;
  Disarm(state_);
  Disarm(tls_);
  // Remove the file only if it is still ours (a newer controller may have replaced it).
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
    ::unlink(path_.c_str());
  ::munmap(state_, MMC_RECORD_FILE_SIZE);
}

void ClockState::Write(const mmc_clock_view& v) {
  SeqlockWrite(state_, [&](mmc_clock_state* s) {
    StoreCommonFields(s, v);
    __atomic_store_n(&s->clocks, v.clocks, __ATOMIC_RELAXED);
    __atomic_store_n(&s->skew_ns, v.skew_ns, __ATOMIC_RELAXED);
  });
}

void ClockState::WriteTls(const mmc_tls_state& t) {
  SeqlockWrite(tls_, [&](mmc_tls_state* s) {
    StoreCommonFields(s, t);
    for (int i = 0; i < MMC_TLS_SCENARIOS; ++i)
      __atomic_store_n(&s->prob[i], t.prob[i], __ATOMIC_RELAXED);
    for (int i = 0; i < 4; ++i)
      __atomic_store_n(&s->status_5xx[i], t.status_5xx[i], __ATOMIC_RELAXED);
    __atomic_store_n(&s->prob_reconcile, t.prob_reconcile, __ATOMIC_RELAXED);
    // Readers copy the endpoints and order lines under the seqlock and retry on a change.
    std::memcpy(static_cast<void*>(s->order_req), t.order_req, sizeof(t.order_req));
    std::memcpy(static_cast<void*>(s->endpoints), t.endpoints, sizeof(t.endpoints));
    std::memcpy(s->endpoint_exchange, t.endpoint_exchange, sizeof(t.endpoint_exchange));
    __atomic_store_n(&s->n_endpoints, t.n_endpoints, __ATOMIC_RELAXED);
    __atomic_store_n(&s->accounting, t.accounting, __ATOMIC_RELAXED);
    __atomic_store_n(&s->req_events, t.req_events, __ATOMIC_RELAXED);
  });
}

uint64_t ClockState::TlsRequests(uint32_t slot) const {
  return slot < MMC_REQSTAT_SLOTS ? __atomic_load_n(&tls_counts_->reqstats[slot], __ATOMIC_RELAXED)
                                  : 0;
}

uint64_t ClockState::TakeTlsRequests(std::vector<mmc_req_event>& out) {
  uint64_t lost = 0;
  const uint64_t head = __atomic_load_n(&tls_counts_->req_head, __ATOMIC_ACQUIRE);
  if (head > req_tail_ + MMC_TLS_REQ_RING) {  // lapped: the oldest are gone
    lost += head - MMC_TLS_REQ_RING - req_tail_;
    req_tail_ = head - MMC_TLS_REQ_RING;
  }
  while (req_tail_ < head) {
    const mmc_tls_req_slot& slot = tls_counts_->req_ring[req_tail_ % MMC_TLS_REQ_RING];
    const uint64_t seq = __atomic_load_n(&slot.seq, __ATOMIC_ACQUIRE);
    if (seq < req_tail_ + 1) break;  // still being written: the next call takes it
    mmc_req_event e;
    std::memcpy(&e, const_cast<const mmc_req_event*>(&slot.e), sizeof(e));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (seq == req_tail_ + 1 && __atomic_load_n(&slot.seq, __ATOMIC_RELAXED) == seq)
      out.push_back(e);
    else
      ++lost;  // overwritten by a later one while read
    ++req_tail_;
  }
  return lost;
}

uint64_t ClockState::TlsLatency(uint32_t slot) const {
  return slot < MMC_RESTLAT_SLOTS ? __atomic_load_n(&tls_counts_->restlat[slot], __ATOMIC_RELAXED)
                                  : 0;
}

uint64_t ClockState::TlsInjections(int scenario, int mode) const {
  if (scenario < 0 || scenario >= MMC_SCN_MAX) return 0;
  return __atomic_load_n(&tls_counts_->injections[scenario][mode == MMC_MODE_SHADOW ? 1 : 0],
                         __ATOMIC_RELAXED);
}

uint64_t ClockState::TlsH2Connections() const {
  return __atomic_load_n(&tls_counts_->h2_connections, __ATOMIC_RELAXED);
}

void ClockState::Beat(uint64_t now_ns) {
  __atomic_store_n(&state_->heartbeat_ns, now_ns, __ATOMIC_RELEASE);
}

uint64_t ClockState::Reads(int mode) const {
  return __atomic_load_n(&counts_->reads[mode == MMC_MODE_SHADOW ? 1 : 0], __ATOMIC_RELAXED);
}

std::array<uint64_t, 2> ReadClockCounts(uint64_t cgroup_id) {
  std::array<uint64_t, 2> out{};
  const std::string path = ClockStatePath(cgroup_id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size < MMC_CLOCK_FILE_SIZE)
    return out;
  mmc_clock_counts c{};
  if (::pread(fd.get(), &c, sizeof(c), MMC_CLOCK_PAGE) == static_cast<ssize_t>(sizeof(c)))
    out = {c.reads[0], c.reads[1]};
  return out;
}

mmc_tls_counts ReadTlsCounts(uint64_t cgroup_id) {
  mmc_tls_counts c{};
  const std::string path = ClockStatePath(cgroup_id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_size < MMC_RECORD_FILE_SIZE) return c;
  if (::pread(fd.get(), &c, sizeof(c), MMC_TLS_COUNTS_OFF) != static_cast<ssize_t>(sizeof(c)))
    c = {};
  return c;
}

int RemoveClockStates() {
  int removed = 0;
  std::error_code ec;
  for (const auto& ent : std::filesystem::directory_iterator(kRunDir, ec)) {
    const std::string path = ent.path().string();
    const std::string name = ent.path().filename().string();
    if (name.rfind("clock-", 0) != 0 || ent.path().extension() != ".shm") continue;
    // Only a regular file of ours is mapped and written; anything else is just unlinked.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    struct stat st {};
    if (fd && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
        st.st_size >= MMC_CLOCK_FILE_SIZE) {
      void* m = ::mmap(nullptr, MMC_CLOCK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
      if (m != MAP_FAILED) {
        auto* s = static_cast<mmc_clock_state*>(m);
        if (s->magic == MMC_CLOCK_MAGIC) Disarm(s);
        ::munmap(m, MMC_CLOCK_PAGE);
      }
    }
    if (fd && st.st_size >= MMC_RECORD_FILE_SIZE) {
      void* m = ::mmap(nullptr, MMC_CLOCK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(),
                       MMC_TLS_STATE_OFF);
      if (m != MAP_FAILED) {
        auto* t = static_cast<mmc_tls_state*>(m);
        if (t->magic == MMC_TLS_MAGIC) Disarm(t);
        ::munmap(m, MMC_CLOCK_PAGE);
      }
    }
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace mmchaos
