#include "tc/steering.h"

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
#include <sstream>

#include "loader/libbpf_print.h"
#include "mmchaos.h"
#include "tc/netns.h"

namespace mmchaos {
namespace {

// RAII for libnl objects.
struct NlDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
  void operator()(rtnl_qdisc* q) const { rtnl_qdisc_put(q); }
  void operator()(rtnl_class* c) const { rtnl_class_put(c); }
  void operator()(rtnl_cls* c) const { rtnl_cls_put(c); }
  void operator()(rtnl_act* a) const { rtnl_act_put(a); }
};
template <typename T>
using NlPtr = std::unique_ptr<T, NlDeleter>;

std::string Errno() { return std::strerror(errno); }

std::unexpected<Error> NlFail(const std::string& call, int nlerr, std::string hint = {}) {
  return std::unexpected(Error{call + ": " + nl_geterror(nlerr), 0, std::move(hint)});
}

Result<NlPtr<nl_sock>> RouteSocket() {
  NlPtr<nl_sock> s(nl_socket_alloc());
  if (!s) return Fail("nl_socket_alloc", ENOMEM);
  if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0) return NlFail("nl_connect", err);
  return s;
}

constexpr uint32_t kClsactEgress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
constexpr uint32_t kClsactIngress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);

// netem probabilities and correlations are fractions of 2^32 - 1 on the wire.
int NetemPercent(double pct) {
  double v = std::clamp(pct, 0.0, 100.0) / 100.0 * std::numeric_limits<uint32_t>::max();
  return static_cast<int>(static_cast<uint32_t>(std::llround(v)));
}

// iproute2's distribution tables (the kernel needs the table, not its name). libnl looks for
// them under /usr/lib/tc; Debian ships them in the multiarch directory.
Result<std::vector<int16_t>> DistTable(const std::string& name) {
  for (const char* dir :
       {"/usr/lib/x86_64-linux-gnu/tc/", "/usr/lib/tc/", "/usr/lib64/tc/", "/usr/share/tc/"}) {
    std::ifstream in(std::string(dir) + name + ".dist");
    if (!in) continue;
    std::vector<int16_t> table;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      long v;
      while (ls >> v) table.push_back(static_cast<int16_t>(v));
    }
    if (!table.empty()) return table;
  }
  return Fail("find netem distribution table " + name + ".dist", ENOENT,
              "install iproute2 (it ships the tables)");
}

Result<void> FillNetem(rtnl_qdisc* q, const NetemSpec& n) {
  rtnl_netem_set_delay(q, static_cast<int>(n.delay_ms * 1000));
  rtnl_netem_set_limit(q, static_cast<int>(n.limit));
  if (n.jitter_ms) {
    rtnl_netem_set_jitter(q, static_cast<int>(n.jitter_ms * 1000));
    rtnl_netem_set_delay_correlation(q, NetemPercent(n.correlation_pct));
    if (n.distribution != "uniform") {
      auto table = DistTable(n.distribution);
      if (!table) return std::unexpected(table.error());
      if (int err = rtnl_netem_set_delay_distribution_data(q, table->data(), table->size());
          err < 0)
        return NlFail("rtnl_netem_set_delay_distribution_data", err);
    }
  }
  if (n.reorder_pct > 0) {
    rtnl_netem_set_gap(q, 1);  // as tc does: without a gap netem ignores reorder
    rtnl_netem_set_reorder_probability(q, NetemPercent(n.reorder_pct));
    rtnl_netem_set_reorder_correlation(q, NetemPercent(n.reorder_correlation_pct));
  }
  return {};
}

Result<NlPtr<rtnl_qdisc>> NetemQdisc(int ifindex, uint32_t parent_class, const NetemSpec& n) {
  NlPtr<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), parent_class);
  // Under an HTB class x:N the netem is N:; as a device's root (the bounce veth) it is 1:.
  rtnl_tc_set_handle(TC_CAST(q.get()),
                     parent_class == TC_H_ROOT ? kHtbHandle : TC_H_MIN(parent_class) << 16);
  // The kind must be set before any netem setter: libnl asserts otherwise.
  rtnl_tc_set_kind(TC_CAST(q.get()), "netem");
  if (auto f = FillNetem(q.get(), n); !f) return std::unexpected(f.error());
  return q;
}

Result<int> IfIndex(nl_sock* sk, const std::string& name) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sk, 0, name.c_str(), &raw); err < 0)
    return NlFail("rtnl_link_get_kernel(" + name + ")", err,
                  "target.interfaces must name interfaces of the engine's netns");
  NlPtr<rtnl_link> link(raw);
  return rtnl_link_get_ifindex(link.get());
}

Result<int> CreateIfb(nl_sock* sk, const std::string& name) {
  NlPtr<rtnl_link> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_set_type(link.get(), "ifb"); err < 0)
    return NlFail("rtnl_link_set_type(ifb)", err);
  rtnl_link_set_flags(link.get(), IFF_UP);
  if (int err = rtnl_link_add(sk, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return NlFail("rtnl_link_add(ifb " + name + ")", err,
                  "the kernel needs CONFIG_IFB; a stale device? run `mmchaos rollback`");
  return IfIndex(sk, name);
}

// Sets a device up (plus extra flags), as `ip link set DEV up` does. "" or what failed.
std::string SetUp(const std::string& name, short extra = 0) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0)
    return "SIOCGIFFLAGS(" + name + "): " + Errno();
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | extra);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return "SIOCSIFFLAGS(" + name + " up): " + Errno();
  return {};
}

// The bounce veth pair for outbound delays with tcx: `in` holds the REST netem as its root qdisc,
// `out` is where packets come back out. Both up, no ARP, the interface's MTU (a larger packet
// would be dropped on the way through). Returns their ifindexes.
Result<std::pair<int, int>> CreateBounce(nl_sock* sk, const std::string& in, const std::string& out,
                                         int iface, const NetemSpec& rest) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sk, iface, nullptr, &raw); err < 0)
    return NlFail("rtnl_link_get_kernel(ifindex " + std::to_string(iface) + ")", err);
  const unsigned mtu = std::min(rtnl_link_get_mtu(raw), 65535u);  // veth's maximum (lo: 65536)
  rtnl_link_put(raw);
  std::unique_ptr<rtnl_link, void (*)(rtnl_link*)> link(rtnl_link_veth_alloc(),
                                                        rtnl_link_veth_release);
  if (!link) return Fail("rtnl_link_veth_alloc", ENOMEM);
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());
  for (auto [l, name] : {std::pair{link.get(), &in}, std::pair{peer, &out}}) {
    rtnl_link_set_name(l, name->c_str());
    rtnl_link_set_mtu(l, mtu);  // (flags at creation are refused for veth: set up below)
  }
  rtnl_link_put(peer);
  if (int err = rtnl_link_add(sk, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return NlFail("rtnl_link_add(veth " + in + ")", err,
                  "the kernel needs CONFIG_VETH; a stale device? run `mmchaos rollback`");
  for (const std::string* name : {&in, &out}) {
    // No IPv6 on them (no link-local routes in the engine's netns, no neighbour discovery);
    // best effort: a host without IPv6 has no such knob.
    std::ofstream("/proc/sys/net/ipv6/conf/" + *name + "/disable_ipv6") << "1";
    if (auto e = SetUp(*name, IFF_NOARP); !e.empty()) return Fail(e, 0);
  }
  auto in_idx = IfIndex(sk, in);
  if (!in_idx) return std::unexpected(in_idx.error());
  auto out_idx = IfIndex(sk, out);
  if (!out_idx) return std::unexpected(out_idx.error());
  auto q = NetemQdisc(*in_idx, TC_H_ROOT, rest);
  if (!q) return std::unexpected(q.error());
  if (int err = rtnl_qdisc_add(sk, q->get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0)
    return NlFail("rtnl_qdisc_add(netem on " + in + ")", err,
                  "this kernel has no sch_netem: `mmchaos doctor` says which scenarios need it");
  return std::pair{*in_idx, *out_idx};
}

Result<void> AddHtb(nl_sock* sk, int ifindex) {
  NlPtr<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(q.get()), kHtbHandle);
  rtnl_tc_set_kind(TC_CAST(q.get()), "htb");
  rtnl_htb_set_defcls(q.get(), 0);  // unclassified: HTB's direct queue, never shaped
  if (int err = rtnl_qdisc_add(sk, q.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return NlFail("rtnl_qdisc_add(htb on ifb)", err, "the kernel needs CONFIG_NET_SCH_HTB");
  // Classes exist only to hold the netems: their rate is far above any link, so HTB never
  // shapes; the delay is netem's alone.
  for (uint32_t cls : {kRestClass, kWsClass}) {
    NlPtr<rtnl_class> c(rtnl_class_alloc());
    rtnl_tc_set_ifindex(TC_CAST(c.get()), ifindex);
    rtnl_tc_set_parent(TC_CAST(c.get()), kHtbHandle);
    rtnl_tc_set_handle(TC_CAST(c.get()), cls);
    rtnl_tc_set_kind(TC_CAST(c.get()), "htb");
    rtnl_htb_set_rate64(c.get(), 100ULL * 1000 * 1000 * 1000 / 8);  // 100 Gbit/s
    rtnl_htb_set_ceil64(c.get(), 100ULL * 1000 * 1000 * 1000 / 8);
    rtnl_htb_set_quantum(c.get(), 200000);
    rtnl_htb_set_rbuffer(c.get(), 16 << 20);
    rtnl_htb_set_cbuffer(c.get(), 16 << 20);
    if (int err = rtnl_class_add(sk, c.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
      return NlFail("rtnl_class_add(htb class on ifb)", err);
  }
  return {};
}

// u32 on the mark: clear the mark (so the packet is ours only once and the engine never sees
// our mark) and redirect it to the ifb.
Result<void> AddMarkRedirect(nl_sock* sk, int ifindex, uint32_t parent, uint32_t mark,
                             int ifb_ifindex) {
  NlPtr<rtnl_cls> cls(rtnl_cls_alloc());
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(cls.get()), parent);
  rtnl_tc_set_kind(TC_CAST(cls.get()), "u32");
  rtnl_cls_set_prio(cls.get(), kPrioU32);
  rtnl_cls_set_protocol(cls.get(), ETH_P_ALL);
  rtnl_u32_add_mark(cls.get(), mark, 0xffffffff);
  // The kernel wants a selector; a zero key with a zero mask matches every packet, so the mark
  // alone decides (what `tc ... u32 match mark M 0xffffffff` sends).
  rtnl_u32_add_key_uint32(cls.get(), 0, 0, 0, 0);
  rtnl_u32_set_cls_terminal(cls.get());

  NlPtr<rtnl_act> clear(rtnl_act_alloc());
  rtnl_tc_set_kind(TC_CAST(clear.get()), "skbedit");
  rtnl_skbedit_set_mark(clear.get(), 0);
  rtnl_skbedit_set_action(clear.get(), TC_ACT_PIPE);
  NlPtr<rtnl_act> redirect(rtnl_act_alloc());
  rtnl_tc_set_kind(TC_CAST(redirect.get()), "mirred");
  rtnl_mirred_set_action(redirect.get(), TCA_EGRESS_REDIR);
  rtnl_mirred_set_policy(redirect.get(), TC_ACT_STOLEN);
  rtnl_mirred_set_ifindex(redirect.get(), static_cast<uint32_t>(ifb_ifindex));
  if (int err = rtnl_u32_add_action(cls.get(), clear.get()); err < 0)
    return NlFail("rtnl_u32_add_action(skbedit)", err);
  if (int err = rtnl_u32_add_action(cls.get(), redirect.get()); err < 0)
    return NlFail("rtnl_u32_add_action(mirred)", err);
  if (int err = rtnl_cls_add(sk, cls.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return NlFail("rtnl_cls_add(u32 mark -> ifb)", err,
                  "the kernel needs cls_u32, act_skbedit and act_mirred");
  return {};
}

void DeleteFilter(nl_sock* sk, int ifindex, uint32_t parent, uint16_t prio) {
  NlPtr<rtnl_cls> cls(rtnl_cls_alloc());
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(cls.get()), parent);
  rtnl_cls_set_prio(cls.get(), prio);
  rtnl_cls_set_protocol(cls.get(), 0);  // any protocol at this priority
  rtnl_cls_delete(sk, cls.get(), 0);
}

bool DeleteLink(nl_sock* sk, const std::string& name) {
  NlPtr<rtnl_link> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  return rtnl_link_delete(sk, link.get()) >= 0;
}

}  // namespace

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
    if (auto h = AddHtb(sock, *ifb); !h) return std::unexpected(h.error());
    for (auto [cls, spec] : {std::pair{kRestClass, &plan.rest}, std::pair{kWsClass, &plan.ws}}) {
      auto q = NetemQdisc(*ifb, cls, *spec);
      if (!q) return std::unexpected(q.error());
      if (int err = rtnl_qdisc_add(sock, q->get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
        return NlFail(
            "rtnl_qdisc_add(netem)", err,
            "this kernel has no sch_netem: `mmchaos doctor` says which scenarios need it");
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
    auto q = NetemQdisc(ifb_ifindex_, cls, *spec);
    if (!q) return std::unexpected(q.error());
    if (int err = rtnl_qdisc_add(sk->get(), q->get(), NLM_F_REPLACE); err < 0)
      return NlFail("rtnl_qdisc_add(netem, replace)", err);
  }
  for (int idx : bounce_ifindexes_) {
    auto q = NetemQdisc(idx, TC_H_ROOT, rest);
    if (!q) return std::unexpected(q.error());
    if (int err = rtnl_qdisc_add(sk->get(), q->get(), NLM_F_REPLACE); err < 0)
      return NlFail("rtnl_qdisc_add(netem on the bounce veth, replace)", err);
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
  if (bounce_ifindexes_.empty()) add(out[0], ifb_ifindex_, kRestClass);
  for (int idx : bounce_ifindexes_) add(out[0], idx, TC_H_ROOT);
  add(out[1], ifb_ifindex_, kWsClass);
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
    for (uint32_t parent : {kClsactIngress, kClsactEgress}) {
      DeleteFilter(sk->get(), idx, parent, kPrioU32);
      DeleteFilter(sk->get(), idx, parent, kPrioBpf);
    }
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
  for (const auto& iface : s.ifaces)
    if (!iface.bounce.empty() && if_nametoindex(iface.bounce.c_str()) != 0 &&
        DeleteLink(sk->get(), iface.bounce))
      done.push_back("veth " + iface.bounce + " (outbound netem for " + iface.name + ") removed");
  if (!s.ifb.empty() && if_nametoindex(s.ifb.c_str()) != 0 && DeleteLink(sk->get(), s.ifb))
    done.push_back("ifb " + s.ifb + " and its netem qdiscs removed");
  return done;
}

std::string ProbeTcAttach(int ingress_prog_fd, int egress_prog_fd) {
  const TcAttach mode = DetectTcAttach();
  return InScratchNetns([=]() -> std::string {
    if (mode == TcAttach::kTcx) {
      auto in = AttachTcx(ingress_prog_fd, 1 /* lo */, false, "mmc_tc_ingress");
      if (!in) return in.error().message();
      auto eg = AttachTcx(egress_prog_fd, 1, true, "mmc_tc_egress");
      return eg ? "" : eg.error().message();
    }
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = 1;  // lo
    hook.attach_point = BPF_TC_INGRESS;
    if (int e = bpf_tc_hook_create(&hook); e && e != -EEXIST)
      return std::string("clsact: ") + std::strerror(-e);
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = ingress_prog_fd;
    opts.priority = kPrioBpf;
    opts.handle = 1;
    if (int e = bpf_tc_attach(&hook, &opts); e)
      return std::string("bpf_tc_attach: ") + std::strerror(-e);
    return {};
  });
}

namespace {

constexpr uint32_t kProbeDelayMs = 20;

// One UDP datagram over lo with the given mark and priority, as the data plane marks what it
// delays: it must come out of a netem, so no sooner than its delay.
std::string SendThroughNetem(uint32_t mark, uint32_t priority, const std::string& path) {
  UniqueFd rx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  UniqueFd tx(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int m = static_cast<int>(mark), prio = static_cast<int>(priority);
  if (!rx || !tx || ::bind(rx.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::getsockname(rx.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::setsockopt(tx.get(), SOL_SOCKET, SO_MARK, &m, sizeof(m)) != 0 ||
      ::setsockopt(tx.get(), SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio)) != 0)
    return "probe sockets: " + Errno();
  auto t0 = std::chrono::steady_clock::now();
  if (::sendto(tx.get(), "mmchaos", 7, 0, reinterpret_cast<sockaddr*>(&a), len) != 7)
    return "sendto: " + Errno();
  pollfd p{rx.get(), POLLIN, 0};
  if (::poll(&p, 1, 3000) != 1) return "a packet sent through " + path + " never arrived";
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (ms < kProbeDelayMs)
    return "a packet sent through " + path + " arrived after " + std::to_string(ms) +
           " ms, before netem's " + std::to_string(kProbeDelayMs) + " ms: it bypassed netem";
  return {};
}

// tcx: both directions the way the data plane runs them, with stand-in programs on lo: outbound
// through a bounce veth, inbound through the ifb.
std::string ProbeTcxNetemPath(nl_sock* sk, int lo, int ifb, const NetemSpec& spec) {
  auto pair = CreateBounce(sk, "mmcprobea", "mmcprobeb", lo, spec);
  if (!pair) return pair.error().message();
  std::vector<UniqueFd> keep;
  struct Hop {
    uint32_t match, set;
    int to, on;
    bool egress, as_host;
  };
  for (Hop h : {Hop{kMarkEgress, MMC_MARK_BOUNCE, pair->first, lo, true, false},
                Hop{MMC_MARK_BOUNCE, 0, lo, pair->second, false, true},
                Hop{kMarkIngress, 0, ifb, lo, false, false}}) {
    auto prog = LoadMarkRedirectProbe(h.match, h.set, h.to, h.as_host);
    if (!prog) return prog.error().message();
    auto link = AttachTcx(prog->get(), h.on, h.egress, "probe");
    if (!link) return link.error().message();
    keep.push_back(std::move(*prog));
    keep.push_back(std::move(*link));
  }
  if (auto e = SendThroughNetem(kMarkEgress, 0, "tcx bpf_redirect into a veth with netem");
      !e.empty())
    return e;
  return SendThroughNetem(kMarkIngress, kWsClass, "tcx bpf_redirect into an ifb with netem");
}

}  // namespace

std::string ProbeNetemSupport() {
  const TcAttach mode = DetectTcAttach();
  return InScratchNetns([mode]() -> std::string {
    if (auto up = SetUp("lo"); !up.empty()) return up;
    // A detour through a device drops the packet's route, and input routing refuses 127/8 and
    // local sources unless route_localnet and accept_local (this scratch netns' own sysctls):
    // traffic of a real interface comes from elsewhere and is routed normally.
    for (const char* knob : {"route_localnet", "accept_local"})
      if (!(std::ofstream(std::string("/proc/sys/net/ipv4/conf/lo/") + knob) << "1"))
        return std::string(knob) + " on the scratch netns' lo: " + Errno();
    auto sk = RouteSocket();
    if (!sk) return sk.error().message();
    auto lo = IfIndex(sk->get(), "lo");
    if (!lo) return lo.error().message();
    auto ifb = CreateIfb(sk->get(), "mmcprobe0");
    if (!ifb) return ifb.error().message();
    if (auto h = AddHtb(sk->get(), *ifb); !h) return h.error().message();
    const NetemSpec spec{kProbeDelayMs, 0, 0, "uniform", 0, 0, 1000};
    for (uint32_t cls : {kRestClass, kWsClass}) {
      auto q = NetemQdisc(*ifb, cls, spec);
      if (!q) return q.error().message();
      if (int err = rtnl_qdisc_add(sk->get(), q->get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
        return std::string("netem qdisc: ") + nl_geterror(err) + " (sch_netem missing)";
    }
    if (mode == TcAttach::kTcx) return ProbeTcxNetemPath(sk->get(), *lo, *ifb, spec);
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = *lo;
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    if (int e = bpf_tc_hook_create(&hook); e) return std::string("clsact: ") + std::strerror(-e);
    // The tc program itself is proven by ProbeTcAttach with the data plane's own program.
    for (auto [parent, mark] :
         {std::pair{kClsactEgress, kMarkEgress}, std::pair{kClsactIngress, kMarkIngress}}) {
      if (auto r = AddMarkRedirect(sk->get(), *lo, parent, mark, *ifb); !r)
        return r.error().message();
    }
    if (auto e =
            SendThroughNetem(kMarkEgress, kRestClass, "clsact egress u32 + mirred into an ifb");
        !e.empty())
      return e;
    return SendThroughNetem(kMarkIngress, kWsClass, "clsact ingress u32 + mirred into an ifb");
  });
}

}  // namespace mmchaos
