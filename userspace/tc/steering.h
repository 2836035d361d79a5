// The tc hook and the netem path for delay scenarios, built so that nothing else on the
// interface changes. Two ways, by what the kernel offers (tc/tcx.h):
//
// tcx links (6.6+): nothing is added to the interface but bpf_links
//   engine socket ─(cgroup_skb: mark)─► tcx egress mmc_tc_egress: mark? bpf_redirect ─► bounce
//     veth "a" (HTB 1: ─► 1:10 netem | 1:11 fq) ─► veth "b", tcx ingress mmc_tc_bounce
//     ─► bpf_redirect ─► iface egress
//   tcx ingress mmc_tc_ingress: ws_lag? priority, bpf_redirect ─► ifb ─► HTB 1: ─► 1:20 netem
//                                                                              | 1:21 fq
//   (outbound cannot use the ifb: it drops bpf_redirect-ed packets that were never received,
//   see bpf/tc_egress.bpf.c)
// clsact (older kernels):
//   engine socket ─(cgroup_skb: mark+priority)─► iface clsact egress: u32 mark ─► skbedit mark 0,
//                                       mirred redirect ─► ifb ─► HTB 1: ─► 1:10 netem | 1:11 fq
//   iface clsact ingress: mmc_tc_ingress (mark+priority) ─► u32 mark ─► (same) ─► 1:20 netem
//                                                                              | 1:21 fq
// (the fq of a netem: where a flow waits, once a burst is over, for its packets still in the
// netem; each packet carries the moment it may leave in skb->tstamp)
//
// The interface's own root qdisc is never replaced (replacing it would drop what is queued on
// it). On clsact, a clsact qdisc is added if there was none, and our filters at our priorities;
// adding or deleting a clsact pauses the device for a moment, tcx links do not. mmchaos' own
// devices (ifb, bounce veths) hold every netem. Rollback removes our links or filters, the
// clsact if we added it, and our devices.
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
#include "common/fd.h"
#include "tc/tcx.h"

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
// Beside each netem class, an fq (its drain): once a burst is over, a flow's packets wait there,
// each until its skb->tstamp, for the flow's packets still in the netem, so none overtakes them
// (bpf/tc_ingress.bpf.c, mmc_ws_lag; bpf/cgroup_skb.bpf.c for lat_spike).
inline constexpr uint32_t kRestDrainClass = 0x00010011;  // 1:11
inline constexpr uint32_t kWsDrainClass = 0x00010021;    // 1:21
constexpr uint32_t DrainOf(uint32_t delay_class) { return delay_class + 1; }

// tcx: where the data plane's programs redirect, per target interface (0 = nowhere).
struct TcxRoute {
  int ifindex = 0;
  int ifb = 0;         // inbound delays
  int bounce_in = 0;   // outbound delays: the veth end that holds the netem
  int bounce_out = 0;  // its peer, whose packets go back out of ifindex
};

struct SteeringPlan {
  std::vector<std::string> interfaces;
  TcAttach attach = TcAttach::kClsact;
  bool netem = true;  // false: only the tc ingress hook (exchange-protocol faults), no ifb
  std::string ifb;    // name of the ifb device to create
  NetemSpec rest;     // lat_spike_ms
  NetemSpec ws;       // ws_lag_ms
  int tc_ingress_prog_fd = -1;
  int tc_egress_prog_fd = -1;  // tcx only: sends marked packets into the bounce veth
  int tc_bounce_prog_fd = -1;  // tcx only: on the bounce veth's far end, back to the interface
  std::string bounce_prefix;   // tcx: bounce veth names are prefix + index + 'a' | 'b'
  // tcx: called once mmchaos' devices exist and before any program is attached, so the programs
  // know where to redirect from their first packet on.
  std::function<Result<void>(const std::vector<TcxRoute>&)> route;
};

// What was made, as recorded on disk before each step, for rollback after a crash.
struct SteeringState {
  uint64_t netns_inode = 0;
  std::string netns_path;
  // tcx: the links went with the controller's process (or `rollback` detached them); only the
  // ifb is left to remove. clsact: filters, and the clsact where clsact_created.
  TcAttach attach = TcAttach::kClsact;
  std::string ifb;
  struct Iface {
    std::string name;
    int ifindex = 0;
    bool clsact_created = false;
    std::string bounce;  // tcx with delays: the bounce veth (deleting it removes its peer)
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
  Steering(const Steering&) = delete;
  Steering& operator=(const Steering&) = delete;

  bool has_netem() const { return ifb_ifindex_ != 0; }
  TcAttach attach() const { return state_.attach; }
  // Changes the netem parameters in place (qdisc change: no packet is dropped by it).
  Result<void> Update(const NetemSpec& rest, const NetemSpec& ws);
  // Per class: [0] REST (lat_spike), [1] WebSocket (ws_lag). Any thread.
  Result<std::array<NetemStats, 2>> Stats();
  // Undoes everything (idempotent). Must be called in the netns it was installed in.
  void Remove();
  const SteeringState& state() const { return state_; }

 private:
  Steering() = default;
  Result<void> InstallTcx(nl_sock* sock, const SteeringPlan& plan,
                          const std::function<void(const SteeringState&)>& record);
  SteeringState state_;
  // Made in the engine's netns at install: Stats() is called from the metrics thread, which is
  // not in that netns; a netlink socket stays in the netns it was made in.
  std::shared_ptr<nl_sock> stats_sock_;
  std::mutex stats_mu_;
  std::vector<UniqueFd> links_;  // tcx links; closed first on Remove()
  int ifb_ifindex_ = 0;
  std::vector<int> bounce_ifindexes_;  // tcx: the veth ends that hold the REST netem
  bool removed_ = false;
};

// Removes what a recorded state says was made, in the caller's netns; missing objects are fine.
// Returns what it did, for the operator.
std::vector<std::string> RemoveSteering(const SteeringState& s);

// The names mmchaos gives its own devices: the ifb "mmcifb<N>" and the bounce veths
// "mmc<N>v<I>a" | "mmc<N>v<I>b" (N from the target cgroup's id, I the interface's position).
bool MmchaosDeviceName(const std::string& name);

// What mmchaos places with tc, found in the caller's netns by what it is rather than by a record
// (for a state file that is damaged, deleted, or was never written whole): devices named as
// MmchaosDeviceName says whose kind is ifb or veth (and device(name) allows), and on every
// interface iface(name) allows the clsact filters mmchaos adds: the direct-action filter at
// kPrioBpf whose program is named mmc_*, and beside it the u32 mark filters at kPrioU32. A clsact
// qdisc stays: whether mmchaos added it is what only the record knew.
struct UnrecordedSteering {
  std::vector<std::string> done;  // what was removed
  std::vector<std::string> left;  // what may be mmchaos' and was not removed, and why
};
UnrecordedSteering RemoveUnrecordedSteering(const std::function<bool(const std::string&)>& device,
                                            const std::function<bool(const std::string&)>& iface);

}  // namespace mmchaos
