// The controller's side of every tc-based scenario (the delays lat_spike_ms/ws_lag_ms and the
// exchange-protocol faults): in the engine's netns it resolves the exchanges' endpoints into the
// data plane's maps, builds the tc ingress hook and, for delays, the netem path
// (tc/steering.h), with every step recorded on disk; keeps it up to date; takes it down.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "common/error.h"
#include "config/config.h"
#include "loader/dataplane.h"
#include "tc/steering.h"

namespace mmchaos {

class TcPath {
 public:
  // netns: the engine's netns file ("" = ours). Removes a crashed predecessor's leftovers for
  // this cgroup before building.
  static Result<std::unique_ptr<TcPath>> Start(const Config& cfg, const std::string& netns,
                                               uint64_t cgroup_id, DataPlane& plane);
  ~TcPath();  // takes the path down and forgets the record
  TcPath(const TcPath&) = delete;
  TcPath& operator=(const TcPath&) = delete;

  // Re-resolves the endpoints (CDN addresses rotate) into the data plane's map.
  void Refresh(const Config& cfg);
  // SIGHUP: new netem parameters, applied in place.
  Result<void> Update(const Config& cfg);
  // [0] REST netem, [1] WebSocket netem. Any thread.
  Result<std::array<NetemStats, 2>> Stats() { return steering_->Stats(); }
  bool has_netem() const { return steering_->has_netem(); }
  TcAttach attach() const { return steering_->attach(); }

 private:
  TcPath(std::string netns, uint64_t cgid, DataPlane& plane)
      : netns_(std::move(netns)), cgroup_id_(cgid), plane_(plane) {}
  std::string netns_;
  uint64_t cgroup_id_;
  DataPlane& plane_;
  std::unique_ptr<Steering> steering_;
};

// The NetemSpecs of a config: [0] REST (lat_spike_ms), [1] WebSocket (ws_lag_ms).
std::array<NetemSpec, 2> NetemSpecs(const Config& cfg);

// Undoes every recorded netem path whose controller is gone (or all, with also_live), each in
// its own netns. Returns what was done, for the operator.
std::vector<std::string> RemoveRecordedPaths(bool also_live);

}  // namespace mmchaos
