// The controller's side of the preload's shared memory (bpf/clock.h, bpf/tls.h): one file per
// target cgroup, /run/mmchaos/clock-<cgroup id>.shm, for clock_skew and the TLS faults alike,
// replaced on every start, disarmed and removed on teardown and by `mmchaos rollback`. After a
// crash the file stays armed but its heartbeat stops, so the preloads return true time (and the
// server's bytes) within two heartbeat periods.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "common/error.h"
#include "mmchaos.h"
#include "tls.h"

namespace mmchaos {

std::string ClockStatePath(uint64_t cgroup_id);

// The fields the clock page (mmc_clock_view) and the TLS page (mmc_tls_state) share, from the
// kernel config: arming, shadow mode, the burst schedule, the rollout, and how old the
// controller's heartbeat may get before the preloads stop (two heartbeat periods).
template <typename Fields>
void FillCommonFields(Fields& f, const mmc_config& k, int heartbeat_ms) {
  f.armed = k.armed;
  f.dry_run = k.dry_run;
  f.seed = k.seed;
  f.epoch_ns = k.epoch_ns;
  f.on_ns = k.on_ns;
  f.off_ns = k.off_ns;
  f.rollout_threshold = k.rollout_threshold;
  f.heartbeat_timeout_ns = 2ULL * static_cast<uint64_t>(heartbeat_ms) * 1000000ULL;
}

class ClockState {
 public:
  // Creates a fresh, disarmed record for the cgroup (a new inode: preloads that mapped an older
  // one move to it).
  static Result<ClockState> Create(uint64_t cgroup_id);
  ClockState(ClockState&& o) noexcept;
  ClockState& operator=(ClockState&&) = delete;
  ClockState(const ClockState&) = delete;
  ~ClockState();

  // Publishes the controller's fields (seqlock write).
  void Write(const mmc_clock_view& v);
  // The TLS page's fields (magic and seq are the record's own).
  void WriteTls(const mmc_tls_state& t);
  void Beat(uint64_t now_ns);
  // Reads counted by the preloads: [0] live, [1] shadow.
  uint64_t Reads(int mode) const;
  // TLS responses decided by the preloads, per scenario and mode.
  uint64_t TlsInjections(int scenario, int mode) const;
  // The engine's TLS connections the preloads saw open with HTTP/2's preface.
  uint64_t TlsH2Connections() const;
  // The TLS REST requests the preloads accounted: mmc_reqstats' and mmc_restlat's slots.
  uint64_t TlsRequests(uint32_t slot) const;
  uint64_t TlsLatency(uint32_t slot) const;
  // The finished requests the preloads wrote into the ring since the last call, in order;
  // returns how many a writer overwrote before they were read (lost).
  uint64_t TakeTlsRequests(std::vector<mmc_req_event>& out);
  const std::string& path() const { return path_; }

 private:
  ClockState() = default;
  std::string path_;
  mmc_clock_state* state_ = nullptr;
  mmc_clock_counts* counts_ = nullptr;
  mmc_tls_state* tls_ = nullptr;
  mmc_tls_counts* tls_counts_ = nullptr;
  uint64_t dev_ = 0, ino_ = 0;
  uint64_t req_tail_ = 0;  // the next ring index to read
};

// The reads the preloads counted in a cgroup's record ([0] live, [1] shadow), for `status`;
// zeros when there is none.
std::array<uint64_t, 2> ReadClockCounts(uint64_t cgroup_id);
// The TLS injections the preloads counted there, for `status`; zeros when there is none.
mmc_tls_counts ReadTlsCounts(uint64_t cgroup_id);

// Disarms and removes every record under /run/mmchaos (rollback); returns how many.
int RemoveClockStates();

}  // namespace mmchaos
