// The netem path for delay scenarios, built so that nothing else on the interface changes:
//
//   engine socket ─(cgroup_skb: mark+priority)─► iface clsact egress: u32 mark ─► skbedit mark 0,
//                                                 mirred redirect ─► ifb ─► HTB 1: ─► 1:10 netem
//   iface clsact ingress: mmc_tc_ingress (mark+priority) ─► u32 mark ─► (same) ─► 1:20 netem
//
// The interface's own root qdisc is never replaced (replacing it would drop what is queued on
// it): only a clsact qdisc is added, if there was none, and our filters at our priorities. The
// ifb holds every netem. Rollback removes our filters, the clsact if we added it, and the ifb.
// Which packets take the path is decided per packet by the BPF data plane, never by re-creating
// qdiscs per burst.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"

struct nl_sock;

namespace mmchaos {

struct NetemSpec {
  uint32_t delay_ms = 0;
  uint32_t jitter_ms = 0;
  double correlation_pct = 0;
  std::string distribution = "uniform";  // uniform | normal | pareto | paretonormal
  double reorder_pct = 0;
  double reorder_correlation_pct = 0;
  uint32_t limit = 1000;  // packets netem may hold (sized from the expected rate)
};

// Fixed identities, so that rollback after a crash can find exactly what we made.
inline constexpr uint32_t kMarkEgress = 0x6d6d0001;   // "mm" 1: REST, outbound
inline constexpr uint32_t kMarkIngress = 0x6d6d0002;  // "mm" 2: WebSocket, inbound
inline constexpr uint16_t kPrioBpf = 0xc001;          // mmc_tc_ingress
inline constexpr uint16_t kPrioU32 = 0xc002;          // mark -> ifb
inline constexpr uint32_t kHtbHandle = 0x00010000;    // 1:
inline constexpr uint32_t kRestClass = 0x00010010;    // 1:10
inline constexpr uint32_t kWsClass = 0x00010020;      // 1:20

struct SteeringPlan {
  std::vector<std::string> interfaces;
  bool netem = true;  // false: only the tc ingress hook (exchange-protocol faults), no ifb
  std::string ifb;    // name of the ifb device to create
  NetemSpec rest;     // lat_spike_ms
  NetemSpec ws;       // ws_lag_ms
  int tc_ingress_prog_fd = -1;
};

// What was made, as recorded on disk before each step, for rollback after a crash.
struct SteeringState {
  uint64_t netns_inode = 0;
  std::string netns_path;
  std::string ifb;
  struct Iface {
    std::string name;
    int ifindex = 0;
    bool clsact_created = false;
  };
  std::vector<Iface> ifaces;
};

struct NetemStats {
  uint64_t drops = 0;
  uint64_t backlog_packets = 0;
  uint64_t packets = 0;
};

class Steering {
 public:
  // Builds the path in the calling thread's network namespace. record() is called with the
  // state before each kernel object is made (and after), so a crash at any point is undoable.
  static Result<std::unique_ptr<Steering>> Install(
      const SteeringPlan& plan, SteeringState state,
      const std::function<void(const SteeringState&)>& record);
  ~Steering();  // Remove()

  bool has_netem() const { return ifb_ifindex_ != 0; }
  // Changes the netem parameters in place (qdisc change: no packet is dropped by it).
  Result<void> Update(const NetemSpec& rest, const NetemSpec& ws);
  // Per class: [0] REST (lat_spike), [1] WebSocket (ws_lag). Any thread.
  Result<std::array<NetemStats, 2>> Stats();
  // Undoes everything (idempotent). Must be called in the netns it was installed in.
  void Remove();
  const SteeringState& state() const { return state_; }

 private:
  Steering() = default;
  SteeringState state_;
  // Made in the engine's netns at install: Stats() is called from the metrics thread, which is
  // not in that netns; a netlink socket stays in the netns it was made in.
  std::shared_ptr<nl_sock> stats_sock_;
  std::mutex stats_mu_;
  int ifb_ifindex_ = 0;
  bool removed_ = false;
};

// Removes what a recorded state says was made, in the caller's netns; missing objects are fine.
// Returns what it did, for the operator.
std::vector<std::string> RemoveSteering(const SteeringState& s);

// Attaches a tc program (direct-action) to clsact ingress on lo in a scratch network namespace
// (forked child). Empty string = works; otherwise what failed.
std::string ProbeTcAttach(int prog_fd);

// Tries the whole path in a scratch network namespace (forked child): ifb, htb, netem, clsact,
// u32 + skbedit + mirred. Empty string = works; otherwise what failed and why.
std::string ProbeNetemSupport();

}  // namespace mmchaos
