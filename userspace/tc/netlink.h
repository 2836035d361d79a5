// The netlink and ioctl building blocks of the tc path (tc/steering) and of doctor's probes of
// it (doctor/tc_probes): libnl owners, devices (ifb, the bounce veth), qdiscs (htb, netem) and
// the u32 mark redirect. Internal to those two.
#pragma once

#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/action.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "common/error.h"
#include "tc/steering.h"

namespace mmchaos {

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

inline constexpr uint32_t kClsactEgress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
inline constexpr uint32_t kClsactIngress = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);

// The errno a libnl error code (NLE_*, either sign) stands for, 0 for libnl's own failures
// (a message it could not parse, a missing attribute, ...).
int NlErrno(int nlerr);

// A libnl failure: the call, libnl's code and text (nl_geterror), the errno it stands for (so
// callers can tell EEXIST from EPERM), and what to do: `hint`, or when empty the usual advice
// for that code (root for EPERM, `mmchaos rollback` for a leftover that exists, ...).
std::unexpected<Error> NlFail(const std::string& call, int nlerr, std::string hint = {});

// A NETLINK_ROUTE socket in the caller's netns.
Result<NlPtr<nl_sock>> RouteSocket();

// A netem qdisc for `n` under parent_class (TC_H_ROOT for a device's root).
Result<NlPtr<rtnl_qdisc>> NetemQdisc(int ifindex, uint32_t parent_class, const NetemSpec& n);

Result<int> IfIndex(nl_sock* sk, const std::string& name);

// An ifb device, up; returns its ifindex.
Result<int> CreateIfb(nl_sock* sk, const std::string& name);

// Sets a device up (plus extra flags), as `ip link set DEV up` does.
Result<void> SetUp(const std::string& name, short extra = 0);

// The bounce veth pair for outbound delays with tcx: `in` holds an htb with the REST netem and
// its drain, `out` is where packets come back out. Returns their ifindexes.
Result<std::pair<int, int>> CreateBounce(nl_sock* sk, const std::string& in, const std::string& out,
                                         int iface, const NetemSpec& rest);

// An htb root (1:) with, for each delay class, that class and its drain (DrainOf).
Result<void> AddHtb(nl_sock* sk, int ifindex, std::initializer_list<uint32_t> delay_classes);

// A delay class's netem (n) and its drain's fq (tc/steering.h), made (NLM_F_CREATE |
// NLM_F_EXCL) or replaced (NLM_F_REPLACE) under the device's htb.
Result<void> SetDelayClass(nl_sock* sk, int ifindex, uint32_t cls, const NetemSpec& n, int flags);

// u32 on the mark: clear the mark and redirect the packet to the ifb.
Result<void> AddMarkRedirect(nl_sock* sk, int ifindex, uint32_t parent, uint32_t mark,
                             int ifb_ifindex);

// Best effort: the filter at this priority, any protocol. A filter that is not there is no
// failure (removal is idempotent).
Result<void> DeleteFilter(nl_sock* sk, int ifindex, uint32_t parent, uint16_t prio);
// Deletes the device (a veth's peer goes with it).
Result<void> DeleteLink(nl_sock* sk, const std::string& name);

}  // namespace mmchaos
