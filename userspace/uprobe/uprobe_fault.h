// What ClockSkew and TlsFaults share: a fault run either by uprobes on the target cgroup's
// processes or by the preload of `mmchaos exec` through its part of the shared record, the state
// that choice keeps, the loop tick's Sync, and the rollback of both.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "clock/shared_record.h"
#include "common/error.h"
#include "common/log.h"

namespace mmchaos {

class DataPlane;

template <class Uprobes>
class UprobeFault {
 public:
  UprobeFault(const UprobeFault&) = delete;
  UprobeFault& operator=(const UprobeFault&) = delete;

  // Follows the target cgroup's processes with the uprobes (every loop tick).
  void Sync() {
    std::lock_guard<std::mutex> l(mu_);
    if (!uprobes_) return;
    auto s = uprobes_->Sync();
    // Logged once per distinct failure: the loop retries every tick.
    std::string msg = s ? std::string() : s.error().message();
    if (!msg.empty() && msg != last_sync_error_) Log(name_ + ": " + msg);
    last_sync_error_ = msg;
  }

 protected:
  // name: the fault's, as its log lines begin ("clock_skew", "tls").
  UprobeFault(const char* name, const DataPlane& plane, int cgroup_fd, std::string cgroup,
              SharedRecord& record)
      : name_(name),
        plane_(plane),
        cgroup_fd_(cgroup_fd),
        cgroup_(std::move(cgroup)),
        record_(record) {}
  ~UprobeFault() = default;

  // Attaches the uprobes to the target cgroup's processes (the caller holds mu_).
  Result<void> AttachUprobes() {
    auto u = Uprobes::Attach(plane_, cgroup_fd_, cgroup_);
    if (!u) return std::unexpected(u.error());
    uprobes_ = std::move(*u);
    return {};
  }

  // Detaches the uprobes, and disarms the preload's part `user` of the shared record if it was
  // armed (disarm writes that part's empty state); idempotent.
  template <typename Fn>
  void Reset(SharedRecord::User user, Fn&& disarm) {
    std::lock_guard<std::mutex> l(mu_);
    uprobes_.reset();
    if (preload_) record_.Drop(user, std::forward<Fn>(disarm));
    preload_ = false;
    mechanism_key_.clear();
  }

  const std::string name_;
  const DataPlane& plane_;
  int cgroup_fd_;
  std::string cgroup_;
  SharedRecord& record_;
  std::mutex mu_;
  std::unique_ptr<Uprobes> uprobes_;
  bool preload_ = false;       // the preload's part of the shared record is armed
  std::string mechanism_key_;  // the faults.*_mechanism the running mechanism was chosen by
  std::string last_sync_error_;
};

}  // namespace mmchaos
