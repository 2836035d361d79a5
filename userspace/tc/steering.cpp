#include "tc/steering.h"

#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/act/skbedit.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

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
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_H_MIN(parent_class) << 16);
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

  for (const auto& name : plan.interfaces) {
    auto idx = IfIndex(sock, name);
    if (!idx) return std::unexpected(idx.error());
    SteeringState::Iface iface{name, *idx, false};
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = *idx;
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    auto quiet = libbpf_set_print(nullptr);  // EEXIST is an answer here, not an error
    int err = bpf_tc_hook_create(&hook);
    libbpf_set_print(quiet);
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

Steering::~Steering() { Remove(); }

void Steering::Remove() {
  if (removed_) return;
  removed_ = true;
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
  int i = 0;
  for (uint32_t cls : {kRestClass, kWsClass}) {
    rtnl_qdisc* q = rtnl_qdisc_get_by_parent(cache.get(), ifb_ifindex_, cls);
    if (q) {
      out[i].drops = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_DROPS);
      out[i].backlog_packets = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_QLEN);
      out[i].packets = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_PACKETS);
      rtnl_qdisc_put(q);
    }
    ++i;
  }
  return out;
}

std::vector<std::string> RemoveSteering(const SteeringState& s) {
  std::vector<std::string> done;
  // Removal is idempotent (the controller and `mmchaos rollback` may both run it): libbpf's
  // complaint about a clsact that is already gone is not news.
  auto quiet = libbpf_set_print(nullptr);
  auto sk = RouteSocket();
  if (!sk) {
    libbpf_set_print(quiet);
    return {"netlink: " + sk.error().message()};
  }
  // Filters first: from this instant no packet is redirected; then the ifb and its netems.
  for (const auto& iface : s.ifaces) {
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
  if (!s.ifb.empty() && if_nametoindex(s.ifb.c_str()) != 0 && DeleteLink(sk->get(), s.ifb))
    done.push_back("ifb " + s.ifb + " and its netem qdiscs removed");
  libbpf_set_print(quiet);
  return done;
}

namespace {

// Runs fn in a forked child in a fresh network namespace; fn returns "" or what failed.
std::string InScratchNetns(const std::function<std::string()>& fn) {
  int p[2];
  if (pipe(p) != 0) return std::string("pipe: ") + std::strerror(errno);
  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    close(p[0]);
    std::string msg = unshare(CLONE_NEWNET) != 0
                          ? std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno)
                          : fn();
    if (!msg.empty()) (void)!write(p[1], msg.data(), msg.size());
    _exit(0);  // the namespace and all in it go with this process
  }
  close(p[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) msg.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return msg;
}

}  // namespace

std::string ProbeTcAttach(int prog_fd) {
  return InScratchNetns([prog_fd]() -> std::string {
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = 1;  // lo
    hook.attach_point = BPF_TC_INGRESS;
    if (int e = bpf_tc_hook_create(&hook); e && e != -EEXIST)
      return std::string("clsact: ") + std::strerror(-e);
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = prog_fd;
    opts.priority = kPrioBpf;
    opts.handle = 1;
    if (int e = bpf_tc_attach(&hook, &opts); e)
      return std::string("bpf_tc_attach: ") + std::strerror(-e);
    return {};
  });
}

std::string ProbeNetemSupport() {
  return InScratchNetns([]() -> std::string {
    auto sk = RouteSocket();
    if (!sk) return sk.error().message();
    auto lo = IfIndex(sk->get(), "lo");
    if (!lo) return lo.error().message();
    auto ifb = CreateIfb(sk->get(), "mmcprobe0");
    if (!ifb) return ifb.error().message();
    if (auto h = AddHtb(sk->get(), *ifb); !h) return h.error().message();
    auto q = NetemQdisc(*ifb, kRestClass, NetemSpec{50, 0, 0, "uniform", 0, 0, 1000});
    if (!q) return q.error().message();
    if (int err = rtnl_qdisc_add(sk->get(), q->get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
      return std::string("netem qdisc: ") + nl_geterror(err) + " (sch_netem missing)";
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = *lo;
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    if (int e = bpf_tc_hook_create(&hook); e) return std::string("clsact: ") + std::strerror(-e);
    // The tc program itself is proven by ProbeTcAttach with the data plane's own program.
    if (auto r = AddMarkRedirect(sk->get(), *lo, kClsactEgress, kMarkEgress, *ifb); !r)
      return r.error().message();
    return {};
  });
}

}  // namespace mmchaos
