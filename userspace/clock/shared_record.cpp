#include "clock/shared_record.h"

#include <time.h>

namespace mmchaos {

uint64_t SharedRecord::NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

SharedRecord::~SharedRecord() {
  std::lock_guard<std::mutex> l(mu_);
  Remove();
}

void SharedRecord::Remove() {
  if (!state_) return;
  for (int mode = 0; mode < MMC_MODE_MAX; ++mode) {
    reads_[mode] += state_->Reads(mode);
    for (int scn = 0; scn < MMC_SCN_MAX; ++scn) tls_[scn][mode] += state_->TlsInjections(scn, mode);
  }
  for (uint32_t i = 0; i < MMC_REQSTAT_SLOTS; ++i) reqstats_[i] += state_->TlsRequests(i);
  for (uint32_t i = 0; i < MMC_RESTLAT_SLOTS; ++i) restlat_[i] += state_->TlsLatency(i);
  state_.reset();  // disarms both parts and unlinks the file
  users_ = 0;
}

void SharedRecord::Beat(uint64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  if (state_) state_->Beat(now_ns);
}

bool SharedRecord::used_by(User u) {
  std::lock_guard<std::mutex> l(mu_);
  return state_ && (users_ & u);
}

std::string SharedRecord::path() {
  std::lock_guard<std::mutex> l(mu_);
  return state_ ? state_->path() : ClockStatePath(cgroup_id_);
}

uint64_t SharedRecord::ClockReads(int mode) {
  std::lock_guard<std::mutex> l(mu_);
  return reads_[mode] + (state_ ? state_->Reads(mode) : 0);
}

uint64_t SharedRecord::TlsH2Connections() {
  std::lock_guard<std::mutex> l(mu_);
  return state_ ? state_->TlsH2Connections() : 0;
}

uint64_t SharedRecord::TlsInjections(int scenario, int mode) {
  std::lock_guard<std::mutex> l(mu_);
  return tls_[scenario][mode] + (state_ ? state_->TlsInjections(scenario, mode) : 0);
}

void SharedRecord::AddTlsRequests(std::array<uint64_t, MMC_REQSTAT_SLOTS>& reqstats) {
  std::lock_guard<std::mutex> l(mu_);
  for (uint32_t i = 0; i < MMC_REQSTAT_SLOTS; ++i)
    reqstats[i] += reqstats_[i] + (state_ ? state_->TlsRequests(i) : 0);
}

void SharedRecord::TakeTlsRequests(std::vector<mmc_req_event>& out) {
  std::lock_guard<std::mutex> l(mu_);
  if (state_) requests_lost_ += state_->TakeTlsRequests(out);
}

uint64_t SharedRecord::TlsRequestsLost() {
  std::lock_guard<std::mutex> l(mu_);
  return requests_lost_;
}

void SharedRecord::AddTlsLatency(std::array<uint64_t, MMC_RESTLAT_SLOTS>& restlat) {
  std::lock_guard<std::mutex> l(mu_);
  for (uint32_t i = 0; i < MMC_RESTLAT_SLOTS; ++i)
    restlat[i] += restlat_[i] + (state_ ? state_->TlsLatency(i) : 0);
}

}  // namespace mmchaos
