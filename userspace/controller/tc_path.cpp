#include "controller/tc_path.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "common/log.h"
#include "controller/kernel_config.h"
#include "controller/registry.h"
#include "resolve/resolve.h"
#include "tc/netns.h"

namespace mmchaos {
namespace {

std::vector<std::pair<mmc_endpoint_key, mmc_endpoint_val>> ToMapEntries(
    const std::vector<ResolvedEndpoint>& eps) {
  std::vector<std::pair<mmc_endpoint_key, mmc_endpoint_val>> out;
  for (const auto& ep : eps) {
    mmc_endpoint_key k{};
    k.family = static_cast<__u8>(ep.family);
    k.port = htons(ep.port);
    std::memcpy(k.addr, ep.addr.data(), sizeof(k.addr));
    mmc_endpoint_val v{};
    v.cls = static_cast<__u8>(ep.cls);
    v.exchange = ep.exchange;
    v.tls = ep.tls ? 1 : 0;
    out.emplace_back(k, v);
  }
  return out;
}

// The ifb's name: unique per target cgroup, within IFNAMSIZ.
std::string IfbName(uint64_t cgroup_id) {
  return "mmcifb" + std::to_string(cgroup_id % 100000000ULL);
}

// The bounce veths' names (tcx with delays): prefix + interface index + 'a' | 'b', within
// IFNAMSIZ.
std::string BouncePrefix(uint64_t cgroup_id) {
  return "mmc" + std::to_string(cgroup_id % 100000000ULL) + "v";
}

}  // namespace

std::array<NetemSpec, 2> NetemSpecs(const Config& cfg) {
  std::array<NetemSpec, 2> out;
  int delays[2] = {cfg.chaos.lat_spike_ms, cfg.chaos.ws_lag_ms};
  for (int i = 0; i < 2; ++i) {
    NetemSpec& n = out[i];
    n.delay_ms = static_cast<uint32_t>(delays[i]);
    n.jitter_ms = static_cast<uint32_t>(cfg.netem.jitter_ms);
    n.correlation_pct = cfg.netem.correlation_pct;
    n.distribution = NetemDistributionName(cfg.netem.distribution);
    n.reorder_pct = cfg.netem.reorder_pct;
    n.reorder_correlation_pct = cfg.netem.reorder_correlation_pct;
    n.limit = NetemLimit(cfg.netem, delays[i]);
  }
  return out;
}

Result<std::unique_ptr<TcPath>> TcPath::Start(const Config& cfg, const std::string& netns,
                                              uint64_t cgroup_id, DataPlane& plane) {
  // A predecessor on this cgroup that crashed left its path behind: we hold the target's lock,
  // so any record for it is stale.
  for (const auto& s : ReadStates()) {
    if (s.cgroup_id != cgroup_id) continue;
    auto guard = NetnsGuard::Enter(FindNetns(s.steering.netns_inode));
    if (guard)
      for (const auto& m : RemoveSteering(s.steering)) Log("stale leftovers: " + m);
    RemoveState(cgroup_id);
  }

  auto guard = NetnsGuard::Enter(netns);
  if (!guard) return std::unexpected(guard.error());
  // Devices with this cgroup's names are a predecessor's whose record is damaged or lost (we
  // hold the lock), and so are mmchaos filters on our interfaces that no running controller
  // recorded: they would make our own fail to attach.
  const std::string ifb = IfbName(cgroup_id), bounce = BouncePrefix(cgroup_id);
  auto inode_now = NetnsInode(netns);
  std::set<std::string> taken;
  for (const auto& s : ReadStates())
    if (s.cgroup_id != cgroup_id && inode_now && s.steering.netns_inode == *inode_now &&
        ControllerAlive(s.cgroup_id))
      for (const auto& i : s.steering.ifaces) taken.insert(i.name);
  const auto& ifs = cfg.target.interfaces;
  auto unrecorded = RemoveUnrecordedSteering(
      [&](const std::string& n) { return n == ifb || n.starts_with(bounce); },
      [&](const std::string& n) {
        return std::find(ifs.begin(), ifs.end(), n) != ifs.end() && !taken.contains(n);
      });
  for (const auto& m : unrecorded.done) Log("stale leftovers without a record: " + m);
  std::unique_ptr<TcPath> path(new TcPath(netns, cgroup_id, plane));

  auto resolved = ResolveEndpoints(cfg.target);
  for (const auto& e : resolved.errors) LogWarning(e);
  for (const auto& w : resolved.warnings) LogWarning(w);
  if (resolved.endpoints.empty())
    return Fail("resolve target.exchanges", ENOENT, "no endpoint could be resolved");
  if (auto r = plane.SetEndpoints(ToMapEntries(resolved.endpoints)); !r)
    return std::unexpected(r.error());

  std::vector<int> ifindexes;
  for (const auto& name : cfg.target.interfaces) {
    unsigned idx = if_nametoindex(name.c_str());
    if (idx == 0)
      return Fail("if_nametoindex(" + name + ")", errno,
                  "target.interfaces must name interfaces of the engine's netns");
    ifindexes.push_back(static_cast<int>(idx));
  }
  if (auto r = plane.SetInterfaces(ifindexes); !r) return std::unexpected(r.error());

  auto inode = NetnsInode(netns);
  if (!inode) return std::unexpected(inode.error());
  SteeringState state;
  state.netns_inode = *inode;
  state.netns_path = netns;
  auto specs = NetemSpecs(cfg);
  SteeringPlan plan;
  plan.interfaces = cfg.target.interfaces;
  plan.netem = NeedsNetem(cfg);
  plan.ifb = ifb;
  plan.rest = specs[0];
  plan.ws = specs[1];
  plan.tc_ingress_prog_fd = plane.tc_ingress_prog_fd();
  plan.tc_egress_prog_fd = plane.tc_egress_prog_fd();
  plan.tc_bounce_prog_fd = plane.tc_bounce_prog_fd();
  plan.bounce_prefix = bounce;
  plan.attach = DetectTcAttach();
  plan.route = [&](const std::vector<TcxRoute>& routes) {
    std::vector<DataPlane::IfaceRoute> r;
    for (const auto& t : routes) r.push_back({t.ifindex, t.ifb, t.bounce_in, t.bounce_out});
    return plane.SetRoutes(r);
  };
  Error record_error{};
  auto st = Steering::Install(plan, state, [&](const SteeringState& s) {
    if (auto w = WriteState({cgroup_id, s}); !w && record_error.call.empty())
      record_error = w.error();
  });
  if (!st) {
    RemoveState(cgroup_id);
    return std::unexpected(st.error());
  }
  if (!record_error.call.empty()) return std::unexpected(record_error);
  path->steering_ = std::move(*st);
  return path;
}

TcPath::~TcPath() {
  // Nothing is steered from here on; if the map cannot be cleared, removing the filters or tcx
  // links below still stops the steering.
  if (auto r = plane_.SetInterfaces({}); !r) Log("stop steering: " + r.error().message());
  auto guard = NetnsGuard::Enter(netns_);
  if (guard) {
    steering_.reset();  // closes tcx links or removes filters and clsact (if ours), then the ifb
    RemoveState(cgroup_id_);
  } else {
    Log("cannot enter " + netns_ + " to remove the netem path (" + guard.error().message() +
        "); `mmchaos rollback` will retry");
    steering_.release();  // leave the record for rollback
  }
}

void TcPath::Refresh(const Config& cfg) {
  auto guard = NetnsGuard::Enter(netns_);
  if (!guard) return Log("re-resolve: " + guard.error().message());
  auto resolved = ResolveEndpoints(cfg.target);
  if (resolved.endpoints.empty()) return;  // keep what we had rather than steer nothing
  if (auto r = plane_.SetEndpoints(ToMapEntries(resolved.endpoints)); !r)
    Log("re-resolve: " + r.error().message());
}

Result<void> TcPath::Update(const Config& cfg) {
  auto guard = NetnsGuard::Enter(netns_);
  if (!guard) return std::unexpected(guard.error());
  Refresh(cfg);
  auto specs = NetemSpecs(cfg);
  return steering_->Update(specs[0], specs[1]);
}

std::vector<std::string> RemoveRecordedPaths(bool also_live) {
  std::vector<std::string> done;
  for (const auto& s : ReadStates()) {
    bool live = ControllerAlive(s.cgroup_id);
    if (live && !also_live) continue;
    std::string ns = FindNetns(s.steering.netns_inode);
    if (ns.empty()) {
      done.push_back("netns of cgroup " + std::to_string(s.cgroup_id) +
                     " is gone, and everything that was in it");
    } else if (auto guard = NetnsGuard::Enter(ns); guard) {
      for (auto& m : RemoveSteering(s.steering)) done.push_back(m);
    } else {
      done.push_back("cannot enter " + ns + ": " + guard.error().message());
      continue;
    }
    if (!live) RemoveState(s.cgroup_id);
  }
  return done;
}

}  // namespace mmchaos
