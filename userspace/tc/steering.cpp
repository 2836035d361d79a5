#include "tc/steering.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/act/skbedit.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "loader/libbpf_print.h"
#include "mmchaos.h"
#include "tc/netlink.h"
#include "tc/netns.h"

namespace mmchaos {

Result<std::unique_ptr<Steering>> Steering::Install(
    const SteeringPlan& plan, SteeringState state,
    const std::function<void(const SteeringState&)>& record) {
  auto sk = RouteSocket();
  if (!sk) return std::unexpected(sk.error());
  std::unique_ptr<Steering> st(new Steering());
  state.ifb = plan.netem ? plan.ifb : "";
  state.attach = plan.attach;
  st->state_ = state;
  record(st->state_);  // before anything exists: a crash from here on is undoable

  nl_sock* sock = sk->get();
  int ifb_ifindex = 0;
  if (plan.netem) {
    auto ifb = CreateIfb(sock, plan.ifb);
    if (!ifb) {
      st->removed_ = true;  // nothing of ours exists; the ifb name may belong to a stale run
      return std::unexpected(ifb.error());
    }
    ifb_ifindex = *ifb;
    st->ifb_ifindex_ = *ifb;
    if (auto h = AddHtb(sock, *ifb, {kRestClass, kWsClass}); !h) return std::unexpected(h.error());
    for (auto [cls, spec] : {std::pair{kRestClass, &plan.rest}, std::pair{kWsClass, &plan.ws}}) {
      if (auto d = SetDelayClass(sock, *ifb, cls, *spec, NLM_F_CREATE | NLM_F_EXCL); !d)
        return std::unexpected(d.error());
    }
  }

  if (plan.attach == TcAttach::kTcx) {
    if (auto r = st->InstallTcx(sock, plan, record); !r) return std::unexpected(r.error());
    st->stats_sock_.reset(sk->release(), [](nl_sock* s) { nl_socket_free(s); });
    return st;
  }

  for (const auto& name : plan.interfaces) {
    auto idx = IfIndex(sock, name);
    if (!idx) return std::unexpected(idx.error());
    SteeringState::Iface iface{name, *idx, false, ""};
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = *idx;
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    int err;
    {
      ScopedLibbpfPrint quiet(nullptr);  // EEXIST is an answer here, not an error
      err = bpf_tc_hook_create(&hook);
    }
    if (err && err != -EEXIST)
      return Fail("bpf_tc_hook_create(clsact on " + name + ")", err, PrivilegeHint(err));
    iface.clsact_created = err == 0;
    st->state_.ifaces.push_back(iface);
    record(st->state_);

    hook.attach_point = BPF_TC_INGRESS;
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = plan.tc_ingress_prog_fd;
    opts.priority = kPrioBpf;
    opts.handle = 1;
    if (int e = bpf_tc_attach(&hook, &opts); e)
      return Fail("bpf_tc_attach(mmc_tc_ingress on " + name + ")", e, PrivilegeHint(e));
    if (!plan.netem) continue;
    for (auto [parent, mark] :
         {std::pair{kClsactEgress, kMarkEgress}, std::pair{kClsactIngress, kMarkIngress}}) {
      if (auto r = AddMarkRedirect(sock, *idx, parent, mark, ifb_ifindex); !r)
        return std::unexpected(r.error());
    }
  }
  st->stats_sock_.reset(sk->release(), [](nl_sock* s) { nl_socket_free(s); });
  return st;
}

// tcx: per interface, a bounce veth pair for outbound delays (tc/steering.h), made and recorded
// before any program is attached; then the data plane learns the routes; then the links.
Result<void> Steering::InstallTcx(nl_sock* sock, const SteeringPlan& plan,
                                  const std::function<void(const SteeringState&)>& record) {
  std::vector<TcxRoute> routes;
  for (size_t i = 0; i < plan.interfaces.size(); ++i) {
    const std::string& name = plan.interfaces[i];
    auto idx = IfIndex(sock, name);
    if (!idx) return std::unexpected(idx.error());
    SteeringState::Iface iface{name, *idx, false, ""};
    TcxRoute route{*idx, ifb_ifindex_, 0, 0};
    if (plan.netem) {
      iface.bounce = plan.bounce_prefix + std::to_string(i) + "a";
      state_.ifaces.push_back(iface);
      record(state_);  // before the pair exists
      auto pair = CreateBounce(sock, iface.bounce, plan.bounce_prefix + std::to_string(i) + "b",
                               *idx, plan.rest);
      if (!pair) return std::unexpected(pair.error());
      route.bounce_in = pair->first;
      route.bounce_out = pair->second;
      bounce_ifindexes_.push_back(pair->first);
    } else {
      state_.ifaces.push_back(iface);  // links need no record (they go with this process)
      record(state_);
    }
    routes.push_back(route);
  }
  if (plan.route) {
    if (auto r = plan.route(routes); !r) return r;
  }
  for (size_t i = 0; i < routes.size(); ++i) {
    const TcxRoute& r = routes[i];
    const std::string& name = plan.interfaces[i];
    if (r.bounce_out) {
      auto b = AttachTcx(plan.tc_bounce_prog_fd, r.bounce_out, false, "mmc_tc_bounce");
      if (!b) return std::unexpected(b.error());
      links_.push_back(std::move(*b));
    }
    auto in = AttachTcx(plan.tc_ingress_prog_fd, r.ifindex, false, "mmc_tc_ingress on " + name);
    if (!in) return std::unexpected(in.error());
    links_.push_back(std::move(*in));
    if (!r.bounce_in) continue;
    auto eg = AttachTcx(plan.tc_egress_prog_fd, r.ifindex, true, "mmc_tc_egress on " + name);
    if (!eg) return std::unexpected(eg.error());
    links_.push_back(std::move(*eg));
  }
  return {};
}

Steering::~Steering() { Remove(); }

void Steering::Remove() {
  if (removed_) return;
  removed_ = true;
  links_.clear();  // tcx: from this instant nothing is redirected
  RemoveSteering(state_);
}

Result<void> Steering::Update(const NetemSpec& rest, const NetemSpec& ws) {
  if (!has_netem()) return {};
  auto sk = RouteSocket();
  if (!sk) return std::unexpected(sk.error());
  for (auto [cls, spec] : {std::pair{kRestClass, &rest}, std::pair{kWsClass, &ws}}) {
    if (auto d = SetDelayClass(sk->get(), ifb_ifindex_, cls, *spec, NLM_F_REPLACE); !d) return d;
  }
  for (int idx : bounce_ifindexes_) {
    if (auto d = SetDelayClass(sk->get(), idx, kRestClass, rest, NLM_F_REPLACE); !d) return d;
  }
  return {};
}

Result<std::array<NetemStats, 2>> Steering::Stats() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  if (!has_netem()) return Fail("netem stats", ENOENT, "no netem path");
  nl_cache* raw = nullptr;
  if (int err = rtnl_qdisc_alloc_cache(stats_sock_.get(), &raw); err < 0)
    return NlFail("rtnl_qdisc_alloc_cache", err);
  std::unique_ptr<nl_cache, void (*)(nl_cache*)> cache(raw, nl_cache_free);
  std::array<NetemStats, 2> out{};
  auto add = [&](NetemStats& n, int ifindex, uint32_t parent) {
    if (rtnl_qdisc* q = rtnl_qdisc_get_by_parent(cache.get(), ifindex, parent)) {
      n.drops += rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_DROPS);
      n.backlog_packets += rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_QLEN);
      n.packets += rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_PACKETS);
      rtnl_qdisc_put(q);
    }
  };
  // REST: the bounce veths' netems with tcx, else the ifb's REST class; WebSocket: the ifb's.
  // Each with its drain: what waits for the netem once a burst is over.
  auto add_class = [&](NetemStats& n, int ifindex, uint32_t cls) {
    add(n, ifindex, cls);
    add(n, ifindex, DrainOf(cls));
  };
  if (bounce_ifindexes_.empty()) add_class(out[0], ifb_ifindex_, kRestClass);
  for (int idx : bounce_ifindexes_) add_class(out[0], idx, kRestClass);
  add_class(out[1], ifb_ifindex_, kWsClass);
  return out;
}

std::vector<std::string> RemoveSteering(const SteeringState& s) {
  std::vector<std::string> done;
  // Removal is idempotent (the controller and `mmchaos rollback` may both run it): libbpf's
  // complaint about a clsact that is already gone is not news.
  ScopedLibbpfPrint quiet(nullptr);
  auto sk = RouteSocket();
  if (!sk) return {"netlink: " + sk.error().message()};
  // Filters first: from this instant no packet is redirected; then the ifb and its netems.
  // tcx links are not here: they close with their owner's process (or `rollback` detached them).
  for (const auto& iface :
       s.attach == TcAttach::kClsact ? s.ifaces : std::vector<SteeringState::Iface>{}) {
    int idx = static_cast<int>(if_nametoindex(iface.name.c_str()));
    if (idx == 0 || idx != iface.ifindex) continue;  // gone or renamed: nothing of ours on it
    for (uint32_t parent : {kClsactIngress, kClsactEgress})
      for (uint16_t prio : {kPrioU32, kPrioBpf})
        if (auto r = DeleteFilter(sk->get(), idx, parent, prio); !r)
          done.push_back("a filter on " + iface.name + " not removed: " + r.error().message());
    if (iface.clsact_created) {
      bpf_tc_hook hook{};
      hook.sz = sizeof(hook);
      hook.ifindex = idx;
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    done.push_back("filters removed from " + iface.name +
                   (iface.clsact_created ? " (and the clsact qdisc mmchaos added)" : ""));
  }
  // A device that is gone is no failure (a veth's peer goes with it); one that stays is said.
  auto remove = [&](const std::string& dev, const std::string& what) {
    if (dev.empty() || if_nametoindex(dev.c_str()) == 0) return;
    if (auto r = DeleteLink(sk->get(), dev); r)
      done.push_back(what + " removed");
    else
      done.push_back(what + " not removed: " + r.error().message());
  };
  for (const auto& iface : s.ifaces)
    remove(iface.bounce, "veth " + iface.bounce + " (outbound netem for " + iface.name + ")");
  remove(s.ifb, "ifb " + s.ifb + " and its netem qdiscs");
  return done;
}

bool MmchaosDeviceName(const std::string& name) {
  static const std::regex re("mmcifb[0-9]{1,8}|mmc[0-9]{1,8}v[0-9]{1,2}[ab]");
  return name.size() <= 15 && std::regex_match(name, re);
}

namespace {

// The name of the program a clsact direct-action filter at prio/handle 1 runs, "" if none.
std::string ClsactProgName(int ifindex, bpf_tc_attach_point point, uint16_t prio) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = point;
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = 1;
  opts.priority = prio;
  if (bpf_tc_query(&hook, &opts) != 0 || opts.prog_id == 0) return {};
  UniqueFd fd(bpf_prog_get_fd_by_id(opts.prog_id));
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return {};
  return info.name;
}

// Whether a filter of this kind sits at prio on the interface's clsact parent.
bool HasFilter(nl_sock* sk, int ifindex, uint32_t parent, uint16_t prio, const char* kind) {
  nl_cache* raw = nullptr;
  if (rtnl_cls_alloc_cache(sk, ifindex, parent, &raw) < 0) return false;
  std::unique_ptr<nl_cache, void (*)(nl_cache*)> cache(raw, nl_cache_free);
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* cls = reinterpret_cast<rtnl_cls*>(o);
    const char* k = rtnl_tc_get_kind(TC_CAST(cls));
    if (rtnl_cls_get_prio(cls) == prio && k && std::strcmp(k, kind) == 0) return true;
  }
  return false;
}

}  // namespace

UnrecordedSteering RemoveUnrecordedSteering(const std::function<bool(const std::string&)>& device,
                                            const std::function<bool(const std::string&)>& iface) {
  UnrecordedSteering out;
  ScopedLibbpfPrint quiet(nullptr);  // a missing clsact is an answer here, not an error
  auto sk = RouteSocket();
  if (!sk) {
    out.left.push_back("netlink: " + sk.error().message());
    return out;
  }
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sk->get(), AF_UNSPEC, &raw); err < 0) {
    out.left.push_back(NlFail("rtnl_link_alloc_cache", err).error().message());
    return out;
  }
  std::unique_ptr<nl_cache, void (*)(nl_cache*)> links(raw, nl_cache_free);
  struct Dev {
    std::string name, type;
    int ifindex;
  };
  std::vector<Dev> devs;
  for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    const char* type = rtnl_link_get_type(l);
    devs.push_back({rtnl_link_get_name(l), type ? type : "", rtnl_link_get_ifindex(l)});
  }
  // Filters first, as RemoveSteering does: from then on no packet is redirected.
  for (const auto& d : devs) {
    if (!iface(d.name)) continue;
    const std::string prog = ClsactProgName(d.ifindex, BPF_TC_INGRESS, kPrioBpf);
    if (!prog.starts_with("mmc_")) continue;
    bool u32 = false;
    for (uint32_t parent : {kClsactIngress, kClsactEgress}) {
      if (HasFilter(sk->get(), d.ifindex, parent, kPrioU32, "u32")) {
        if (auto r = DeleteFilter(sk->get(), d.ifindex, parent, kPrioU32); !r)
          out.left.push_back("a u32 filter on " + d.name + ": " + r.error().message());
        u32 = true;
      }
    }
    if (auto r = DeleteFilter(sk->get(), d.ifindex, kClsactIngress, kPrioBpf); !r) {
      out.left.push_back("filter " + prog + " on " + d.name + ": " + r.error().message());
      continue;
    }
    out.done.push_back("filter " + prog + (u32 ? " and its u32 mark filters" : "") +
                       " removed from " + d.name);
    out.left.push_back("the clsact qdisc on " + d.name +
                       " (whether mmchaos added it was in the record: `tc filter show dev " +
                       d.name + " ingress` and `egress`, then `tc qdisc del dev " + d.name +
                       " clsact` if nothing else uses it)");
  }
  for (const auto& d : devs) {
    if (!MmchaosDeviceName(d.name) || (d.type != "ifb" && d.type != "veth") || !device(d.name))
      continue;
    // A veth's peer goes with it (and is already gone when it came first in the list).
    if (if_nametoindex(d.name.c_str()) == 0) continue;
    if (auto r = DeleteLink(sk->get(), d.name); r)
      out.done.push_back(d.type + " " + d.name + " removed" +
                         (d.type == "ifb" ? " (and its netem qdiscs)" : " (and its netem)"));
    else
      out.left.push_back(d.type + " " + d.name + ": " + r.error().message());
  }
  return out;
}

}  // namespace mmchaos
