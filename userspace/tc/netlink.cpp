#include "tc/netlink.h"

#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/act/skbedit.h>
#include <netlink/route/class.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace mmchaos {

int NlErrno(int nlerr) {
  // The inverse of libnl's nl_syserr2nlerr, where the kernel's errno became the code (several
  // errnos share a code: the usual one is given).
  switch (nlerr < 0 ? -nlerr : nlerr) {
    case NLE_BAD_SOCK:
      return EBADF;
    case NLE_EXIST:
      return EEXIST;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_INTR:
      return EINTR;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_INVAL:
      return EINVAL;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_PROTO_MISMATCH:
      return EPROTONOSUPPORT;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_PERM:
      return EPERM;
    case NLE_BUSY:
      return EBUSY;
    case NLE_RANGE:
      return ERANGE;
    case NLE_NODEV:
      return ENODEV;
    case NLE_MSGSIZE:
      return EMSGSIZE;
    default:
      return 0;  // libnl's own: NLE_FAILURE, NLE_MSGTYPE_NOSUPPORT, NLE_NOATTR, NLE_PARSE_ERR, ...
  }
}

std::unexpected<Error> NlFail(const std::string& call, int nlerr, std::string hint) {
  const int code = nlerr < 0 ? -nlerr : nlerr;
  const int err = NlErrno(code);
  if (hint.empty()) {
    hint = PrivilegeHint(err);
    if (err == EEXIST)
      hint = "left by an earlier run? `mmchaos status` shows it, `mmchaos rollback` removes it";
    else if (err == EOPNOTSUPP || code == NLE_MSGTYPE_NOSUPPORT)
      hint = "this kernel lacks it: `mmchaos doctor` says which scenarios need what";
    else if (err == ENODEV)
      hint = "the device is gone (renamed, or its netns deleted)";
  }
  return std::unexpected(
      Error{call, err, std::move(hint),
            std::string(nl_geterror(code)) + " (libnl error " + std::to_string(code) + ")"});
}

Result<NlPtr<nl_sock>> RouteSocket() {
  NlPtr<nl_sock> s(nl_socket_alloc());
  if (!s) return Fail("nl_socket_alloc", ENOMEM);
  if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0) return NlFail("nl_connect", err);
  return s;
}

namespace {

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

}  // namespace

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

// Sets a device up (plus extra flags), as `ip link set DEV up` does.
Result<void> SetUp(const std::string& name, short extra) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0)
    return Fail("SIOCGIFFLAGS(" + name + ")", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | extra);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0)
    return Fail("SIOCSIFFLAGS(" + name + " up)", errno);
  return {};
}

// The bounce veth pair for outbound delays with tcx: `in` holds an htb with the REST netem and its
// drain, `out` is where packets come back out. Both up, no ARP, the interface's MTU (a larger
// packet would be dropped on the way through). Returns their ifindexes.
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
    if (auto up = SetUp(*name, IFF_NOARP); !up) return std::unexpected(up.error());
  }
  auto in_idx = IfIndex(sk, in);
  if (!in_idx) return std::unexpected(in_idx.error());
  auto out_idx = IfIndex(sk, out);
  if (!out_idx) return std::unexpected(out_idx.error());
  if (auto h = AddHtb(sk, *in_idx, {kRestClass}); !h) return std::unexpected(h.error());
  if (auto d = SetDelayClass(sk, *in_idx, kRestClass, rest, NLM_F_CREATE | NLM_F_EXCL); !d)
    return std::unexpected(d.error());
  return std::pair{*in_idx, *out_idx};
}

Result<void> AddHtb(nl_sock* sk, int ifindex, std::initializer_list<uint32_t> delay_classes) {
  NlPtr<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(q.get()), kHtbHandle);
  rtnl_tc_set_kind(TC_CAST(q.get()), "htb");
  rtnl_htb_set_defcls(q.get(), 0);  // unclassified: HTB's direct queue, never shaped
  if (int err = rtnl_qdisc_add(sk, q.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return NlFail("rtnl_qdisc_add(htb)", err, "the kernel needs CONFIG_NET_SCH_HTB");
  // Classes exist only to hold the netems and their drains: their rate is far above any link,
  // so HTB never shapes; the delay is netem's alone. A drain's lower priority: when a netem's
  // packet and a drain's are both due, HTB sends the netem's first (the drain waits for it).
  for (uint32_t delay : delay_classes) {
    for (auto [cls, prio] : {std::pair{delay, 0u}, std::pair{DrainOf(delay), 1u}}) {
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
      rtnl_htb_set_prio(c.get(), prio);
      if (int err = rtnl_class_add(sk, c.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
        return NlFail("rtnl_class_add(htb class)", err);
    }
  }
  return {};
}

namespace {

// libnl has no fq module: the options are appended to the request it builds.
Result<void> AddDrainFq(nl_sock* sk, int ifindex, uint32_t cls, uint32_t limit, int flags) {
  NlPtr<rtnl_qdisc> q(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(q.get()), cls);
  rtnl_tc_set_handle(TC_CAST(q.get()), TC_H_MIN(cls) << 16);
  rtnl_tc_set_kind(TC_CAST(q.get()), "fq");
  nl_msg* raw = nullptr;
  if (int err = rtnl_qdisc_build_add_request(q.get(), flags, &raw); err < 0)
    return NlFail("rtnl_qdisc_build_add_request(fq)", err);
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> msg(raw, nlmsg_free);
  nlattr* opts = nla_nest_start(msg.get(), TCA_OPTIONS);
  // One flow may hold all of it, unpaced; a packet past the horizon is sent then rather than
  // dropped (the hold is at most 50 s: delay and jitter are at most 10 s each, jitter tables
  // reach 4x).
  if (!opts || nla_put_u32(msg.get(), TCA_FQ_PLIMIT, limit) < 0 ||
      nla_put_u32(msg.get(), TCA_FQ_FLOW_PLIMIT, limit) < 0 ||
      nla_put_u32(msg.get(), TCA_FQ_RATE_ENABLE, 0) < 0 ||
      nla_put_u32(msg.get(), TCA_FQ_HORIZON, 120U * 1000 * 1000) < 0 ||
      nla_put_u8(msg.get(), TCA_FQ_HORIZON_DROP, 0) < 0)
    return NlFail("nla_put(fq options)", -NLE_NOMEM);
  nla_nest_end(msg.get(), opts);
  if (int err = nl_send_sync(sk, msg.release()); err < 0)
    return NlFail("rtnl_qdisc_add(fq)", err,
                  "the kernel needs sch_fq (CONFIG_NET_SCH_FQ): it keeps a delayed flow in order "
                  "when a burst ends");
  return {};
}

}  // namespace

Result<void> SetDelayClass(nl_sock* sk, int ifindex, uint32_t cls, const NetemSpec& n, int flags) {
  auto q = NetemQdisc(ifindex, cls, n);
  if (!q) return std::unexpected(q.error());
  if (int err = rtnl_qdisc_add(sk, q->get(), flags); err < 0)
    return NlFail("rtnl_qdisc_add(netem)", err,
                  "this kernel has no sch_netem: `mmchaos doctor` says which scenarios need it");
  return AddDrainFq(sk, ifindex, DrainOf(cls), n.limit, flags);
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

Result<void> DeleteFilter(nl_sock* sk, int ifindex, uint32_t parent, uint16_t prio) {
  NlPtr<rtnl_cls> cls(rtnl_cls_alloc());
  rtnl_tc_set_ifindex(TC_CAST(cls.get()), ifindex);
  rtnl_tc_set_parent(TC_CAST(cls.get()), parent);
  rtnl_cls_set_prio(cls.get(), prio);
  rtnl_cls_set_protocol(cls.get(), 0);  // any protocol at this priority
  if (int err = rtnl_cls_delete(sk, cls.get(), 0);
      err < 0 && NlErrno(err) != ENOENT && NlErrno(err) != EINVAL)
    return NlFail("rtnl_cls_delete(ifindex " + std::to_string(ifindex) + ", prio " +
                      std::to_string(prio) + ")",
                  err);
  return {};
}

Result<void> DeleteLink(nl_sock* sk, const std::string& name) {
  NlPtr<rtnl_link> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_delete(sk, link.get()); err < 0)
    return NlFail("rtnl_link_delete(" + name + ")", err);
  return {};
}

}  // namespace mmchaos
