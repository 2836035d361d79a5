#include "doctor/tc_probes.h"

#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/fd.h"
#include "mmchaos.h"
#include "tc/netlink.h"
#include "tc/netns.h"
#include "tc/steering.h"
#include "tc/tcx.h"

namespace mmchaos {

Result<void> ProbeTcAttach(int ingress_prog_fd, int egress_prog_fd) {
  const TcAttach mode = DetectTcAttach();
  return InScratchNetns([=]() -> Result<void> {
    if (mode == TcAttach::kTcx) {
      auto in = AttachTcx(ingress_prog_fd, 1 /* lo */, false, "mmc_tc_ingress");
      if (!in) return std::unexpected(in.error());
      auto eg = AttachTcx(egress_prog_fd, 1, true, "mmc_tc_egress");
      if (!eg) return std::unexpected(eg.error());
      return {};
    }
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = 1;  // lo
    hook.attach_point = BPF_TC_INGRESS;
    if (int e = bpf_tc_hook_create(&hook); e && e != -EEXIST) return Fail("clsact", -e);
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = ingress_prog_fd;
    opts.priority = kPrioBpf;
    opts.handle = 1;
    if (int e = bpf_tc_attach(&hook, &opts); e) return Fail("bpf_tc_attach", -e);
    return {};
  });
}

namespace {

constexpr uint32_t kProbeDelayMs = 20;

// One UDP datagram over lo with the given mark and priority, as the data plane marks what it
// delays: it must come out of a netem, so no sooner than its delay.
Result<void> SendThroughNetem(uint32_t mark, uint32_t priority, const std::string& path) {
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
    return Fail("probe sockets", errno);
  auto t0 = std::chrono::steady_clock::now();
  if (::sendto(tx.get(), "mmchaos", 7, 0, reinterpret_cast<sockaddr*>(&a), len) != 7)
    return Fail("sendto", errno);
  pollfd p{rx.get(), POLLIN, 0};
  if (::poll(&p, 1, 3000) != 1) return Fail("a packet sent through " + path + " never arrived");
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (ms < kProbeDelayMs)
    return Fail("a packet sent through " + path + " arrived after " + std::to_string(ms) +
                " ms, before netem's " + std::to_string(kProbeDelayMs) + " ms: it bypassed netem");
  return {};
}

// tcx: both directions the way the data plane runs them, with stand-in programs on lo: outbound
// through a bounce veth, inbound through the ifb.
Result<void> ProbeTcxNetemPath(nl_sock* sk, int lo, int ifb, const NetemSpec& spec) {
  auto pair = CreateBounce(sk, "mmcprobea", "mmcprobeb", lo, spec);
  if (!pair) return std::unexpected(pair.error());
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
    if (!prog) return std::unexpected(prog.error());
    auto link = AttachTcx(prog->get(), h.on, h.egress, "probe");
    if (!link) return std::unexpected(link.error());
    keep.push_back(std::move(*prog));
    keep.push_back(std::move(*link));
  }
  if (auto sent =
          SendThroughNetem(kMarkEgress, kRestClass, "tcx bpf_redirect into a veth with netem");
      !sent)
    return sent;
  return SendThroughNetem(kMarkIngress, kWsClass, "tcx bpf_redirect into an ifb with netem");
}

}  // namespace

Result<void> ProbeNetemSupport() {
  const TcAttach mode = DetectTcAttach();
  return InScratchNetns([mode]() -> Result<void> {
    if (auto up = SetUp("lo"); !up) return up;
    // A detour through a device drops the packet's route, and input routing refuses 127/8 and
    // local sources unless route_localnet and accept_local (this scratch netns' own sysctls):
    // traffic of a real interface comes from elsewhere and is routed normally.
    for (const char* knob : {"route_localnet", "accept_local"})
      if (!(std::ofstream(std::string("/proc/sys/net/ipv4/conf/lo/") + knob) << "1"))
        return Fail(std::string(knob) + " on the scratch netns' lo", errno);
    auto sk = RouteSocket();
    if (!sk) return std::unexpected(sk.error());
    auto lo = IfIndex(sk->get(), "lo");
    if (!lo) return std::unexpected(lo.error());
    auto ifb = CreateIfb(sk->get(), "mmcprobe0");
    if (!ifb) return std::unexpected(ifb.error());
    if (auto h = AddHtb(sk->get(), *ifb, {kRestClass, kWsClass}); !h)
      return std::unexpected(h.error());
    const NetemSpec spec{kProbeDelayMs, 0, 0, "uniform", 0, 0, 1000};
    for (uint32_t cls : {kRestClass, kWsClass}) {
      if (auto d = SetDelayClass(sk->get(), *ifb, cls, spec, NLM_F_CREATE | NLM_F_EXCL); !d)
        return d;
    }
    if (mode == TcAttach::kTcx) return ProbeTcxNetemPath(sk->get(), *lo, *ifb, spec);
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = *lo;
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    if (int e = bpf_tc_hook_create(&hook); e) return Fail("clsact", -e);
    // The tc program itself is proven by ProbeTcAttach with the data plane's own program.
    for (auto [parent, mark] :
         {std::pair{kClsactEgress, kMarkEgress}, std::pair{kClsactIngress, kMarkIngress}}) {
      if (auto r = AddMarkRedirect(sk->get(), *lo, parent, mark, *ifb); !r)
        return std::unexpected(r.error());
    }
    if (auto sent =
            SendThroughNetem(kMarkEgress, kRestClass, "clsact egress u32 + mirred into an ifb");
        !sent)
      return sent;
    return SendThroughNetem(kMarkIngress, kWsClass, "clsact ingress u32 + mirred into an ifb");
  });
}

}  // namespace mmchaos
