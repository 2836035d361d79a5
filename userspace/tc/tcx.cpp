#include "tc/tcx.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "tc/netns.h"

namespace mmchaos {
namespace {

// Not named mmc_*: `mmchaos status` and `rollback` must not take a probe for a data plane.
constexpr const char kProbeName[] = "mmchaos_probe";

Result<UniqueFd> LoadSchedCls(const bpf_insn* insns, size_t n) {
  int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, kProbeName, "GPL", insns, n, nullptr);
  if (fd < 0) return Fail("bpf_prog_load(probe program)", -fd, PrivilegeHint(-fd));
  return UniqueFd(fd);
}

TcAttach Detect() {
  Result<void> works = InScratchNetns([]() -> Result<void> {
    const bpf_insn next[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, -1},  // r0 = TCX_NEXT
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    auto prog = LoadSchedCls(next, 2);
    if (!prog) return std::unexpected(prog.error());
    auto link = AttachTcx(prog->get(), 1 /* lo */, false, "probe");
    if (!link) return std::unexpected(link.error());
    return {};
  });
  return works ? TcAttach::kTcx : TcAttach::kClsact;
}

}  // namespace

const char* TcAttachName(TcAttach a) { return a == TcAttach::kTcx ? "tcx" : "clsact"; }

TcAttach DetectTcAttach() {
  static const TcAttach mode = Detect();
  return mode;
}

Result<UniqueFd> AttachTcx(int prog_fd, int ifindex, bool egress, const std::string& what) {
  // libbpf 1.1 passes attach types it does not know through to the kernel unchanged; no
  // relative program or revision in the options: append after whatever is attached.
  auto type = static_cast<bpf_attach_type>(egress ? kBpfTcxEgress : kBpfTcxIngress);
  int fd = bpf_link_create(prog_fd, ifindex, type, nullptr);
  if (fd < 0)
    return Fail(std::string("bpf_link_create(") + what + ", " +
                    (egress ? "BPF_TCX_EGRESS" : "BPF_TCX_INGRESS") + ")",
                -fd, fd == -EINVAL ? "this kernel has no tcx links (6.6+)" : PrivilegeHint(-fd));
  return UniqueFd(fd);
}

Result<UniqueFd> LoadMarkRedirectProbe(uint32_t match, uint32_t set, int ifindex, bool as_host) {
  constexpr auto kMark = static_cast<int16_t>(offsetof(__sk_buff, mark));
  const auto imm = [](uint32_t v) { return static_cast<int32_t>(v); };
  std::vector<bpf_insn> p = {
      {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0},    // r6 = skb
      {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_6, kMark, 0},  // r2 = skb->mark
      {BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, imm(match)},     // != match: to "next"
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, imm(set)},
      {BPF_STX | BPF_MEM | BPF_W, BPF_REG_6, BPF_REG_3, kMark, 0},  // skb->mark = set
  };
  if (as_host) {  // bpf_skb_change_type(skb, PACKET_HOST)
    p.push_back({BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0});
    p.push_back({BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0});
    p.push_back({BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_skb_change_type});
  }
  p.push_back({BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, ifindex});  // r1 = ifindex
  p.push_back({BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0});        // r2 = 0: egress
  p.push_back({BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect});
  p.push_back({BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
  p[2].off = static_cast<int16_t>(p.size() - 3);                    // "next" follows
  p.push_back({BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, -1});  // next: TCX_NEXT
  p.push_back({BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
  return LoadSchedCls(p.data(), p.size());
}

}  // namespace mmchaos
