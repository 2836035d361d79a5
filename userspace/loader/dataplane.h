// The loaded BPF data plane: the skeleton's object and the links that attach it to the engine's
// cgroup. Links are never pinned, so the kernel detaches them the instant this process exits,
// however it exits. Destroying the links (Detach) is the whole of rollback for these hooks.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "common/error.h"
#include "loader/bpf_link.h"
#include "loader/counters.h"
#include "mmchaos.h"

struct mmchaos_bpf;  // the generated skeleton
struct bpf_object;

namespace mmchaos {

class DataPlane {
 public:
  // Opens and loads the CO-RE object (verifier runs here); attaches nothing.
  static Result<std::unique_ptr<DataPlane>> Load();
  ~DataPlane();
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  // Attaches the cgroup_skb egress/ingress and the connect4/6 programs to the cgroup through
  // bpf_links.
  Result<void> Attach(int cgroup_fd);
  // Detaches at once (idempotent).
  void Detach();
  // Safe from any thread (the metrics exporter asks).
  bool attached() const { return attached_.load(std::memory_order_relaxed); }
  // False once `mmchaos rollback` detached our links from another process.
  bool LinksAlive() const;

  Result<void> WriteConfig(const mmc_config& cfg);
  // Tells programs that outlive us (tc filters) that the controller is alive.
  Result<void> Heartbeat(uint64_t now_ns);
  // Replaces the engine's endpoints (mmc_endpoints) with these.
  Result<void> SetEndpoints(const std::vector<std::pair<mmc_endpoint_key, mmc_endpoint_val>>& eps);
  // Replaces the interfaces netem steering may use (mmc_ifaces), where tc filters steer
  // (clsact: no redirect targets).
  Result<void> SetInterfaces(const std::vector<int>& ifindexes);
  // tcx: the interfaces with where their packets are redirected (mmc_ifaces), and each bounce
  // veth's far end with the interface its packets go back out of (mmc_bounce).
  struct IfaceRoute {
    int ifindex = 0, ifb = 0, bounce_in = 0, bounce_out = 0;
  };
  Result<void> SetRoutes(const std::vector<IfaceRoute>& routes);
  int tc_ingress_prog_fd() const;
  int tc_egress_prog_fd() const;
  int tc_bounce_prog_fd() const;
  int reqstats_fd() const;
  int restlat_fd() const;   // mm_rest_latency_seconds
  int requests_fd() const;  // ring buffer of struct mmc_req_event
  Result<Counters> ReadCounters() const;

  // The loaded object, for objects that share its maps (the clock_skew uprobes).
  const bpf_object* object() const;
  int events_fd() const;
  int counters_fd() const;
  int config_fd() const;

 private:
  struct SkelDeleter {
    void operator()(::mmchaos_bpf* s) const;
  };
  DataPlane() = default;

  // Declared before the links: members are destroyed in reverse, links (detach) first.
  std::unique_ptr<::mmchaos_bpf, SkelDeleter> skel_;
  std::vector<BpfLink> links_;
  std::atomic<bool> attached_{false};
};

}  // namespace mmchaos
