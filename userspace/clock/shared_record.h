// The preload's one shared record (clock_state.h), made while any preload mechanism needs it
// (clock_skew's, the TLS faults') and removed when none does. Counts survive the record: a
// record that goes (SIGHUP, enabled: false) leaves its counts here, so counters never drop.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "clock/clock_state.h"
#include "common/error.h"
#include "mmchaos.h"

namespace mmchaos {

class SharedRecord {
 public:
  enum User : unsigned { kClock = 1, kTls = 2 };

  explicit SharedRecord(uint64_t cgroup_id) : cgroup_id_(cgroup_id) {}
  ~SharedRecord();
  SharedRecord(const SharedRecord&) = delete;
  SharedRecord& operator=(const SharedRecord&) = delete;

  // Runs fn on the record, made first if no user had it (a fresh, disarmed record).
  template <typename Fn>
  Result<void> Use(User u, Fn&& fn) {
    std::lock_guard<std::mutex> l(mu_);
    if (!state_) {
      auto s = ClockState::Create(cgroup_id_);
      if (!s) return std::unexpected(s.error());
      state_.emplace(std::move(*s));
      state_->Beat(NowNs());  // alive from the start; the controller's loop keeps it so
    }
    users_ |= u;
    fn(*state_);
    return {};
  }
  // Runs fn (to disarm u's part) and removes the record when no user is left.
  template <typename Fn>
  void Drop(User u, Fn&& fn) {
    std::lock_guard<std::mutex> l(mu_);
    if (!state_ || !(users_ & u)) return;
    fn(*state_);
    users_ &= ~static_cast<unsigned>(u);
    if (!users_) Remove();
  }
  void Beat(uint64_t now_ns);
  bool used_by(User u);
  std::string path();

  // Everything the preloads counted this run: clock reads, TLS injections.
  uint64_t ClockReads(int mode);
  uint64_t TlsInjections(int scenario, int mode);
  uint64_t TlsH2Connections();
  // The TLS REST requests the preloads accounted this run (mmc_reqstats' and mmc_restlat's
  // layout), added into the data plane's.
  void AddTlsRequests(std::array<uint64_t, MMC_REQSTAT_SLOTS>& reqstats);
  void AddTlsLatency(std::array<uint64_t, MMC_RESTLAT_SLOTS>& restlat);
  // The finished TLS requests the preloads wrote since the last call (the experiment's events),
  // and how many were lost so far (overwritten before they were read).
  void TakeTlsRequests(std::vector<mmc_req_event>& out);
  uint64_t TlsRequestsLost();

 private:
  static uint64_t NowNs();
  void Remove();  // mu_ held
  const uint64_t cgroup_id_;
  std::mutex mu_;
  std::optional<ClockState> state_;
  unsigned users_ = 0;
  uint64_t reads_[MMC_MODE_MAX] = {};
  uint64_t tls_[MMC_SCN_MAX][MMC_MODE_MAX] = {};
  uint64_t reqstats_[MMC_REQSTAT_SLOTS] = {};
  uint64_t restlat_[MMC_RESTLAT_SLOTS] = {};
  uint64_t requests_lost_ = 0;
};

}  // namespace mmchaos
