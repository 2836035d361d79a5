// How tc programs are attached on this kernel. tcx links (kernel 6.6+) hook a program straight
// onto a device: no qdisc is added, so attaching and detaching never pauses the device, and an
// unpinned link is gone the moment its owner's fd closes (process exit included). Older kernels
// need a clsact qdisc and netlink filters, which outlive the process. Debian 12's kernel headers
// (6.1) and libbpf 1.1 predate tcx, so its few constants live here and links are made with the
// plain BPF_LINK_CREATE wrapper.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"
#include "common/fd.h"

namespace mmchaos {

enum class TcAttach {
  kTcx,     // a bpf_link per hook
  kClsact,  // a clsact qdisc (added if missing) + direct-action cls_bpf / u32 filters
};

// From linux/bpf.h (6.6): enum bpf_attach_type and enum bpf_link_type.
inline constexpr uint32_t kBpfTcxIngress = 46;   // BPF_TCX_INGRESS
inline constexpr uint32_t kBpfTcxEgress = 47;    // BPF_TCX_EGRESS
inline constexpr uint32_t kBpfLinkTypeTcx = 11;  // BPF_LINK_TYPE_TCX

const char* TcAttachName(TcAttach a);  // "tcx" | "clsact"

// Which one this kernel offers, found once per process by attaching a do-nothing program as a
// tcx link to lo in a scratch network namespace (a forked child). Call it early: later calls
// return the cached answer without forking.
TcAttach DetectTcAttach();

// Attaches prog_fd to ifindex (in the caller's netns) as a tcx link, after any program already
// there. The returned fd is the link: closing it detaches.
Result<UniqueFd> AttachTcx(int prog_fd, int ifindex, bool egress, const std::string& what);

// Loads a SCHED_CLS program for probes that send a packet through the real path: a packet whose
// mark is `match` gets mark `set` and is redirected into ifindex's egress (bpf_redirect); any
// other goes on (TCX_NEXT); as_host also makes it PACKET_HOST again (bpf_skb_change_type), as
// mmc_tc_bounce does. What the data plane's tc programs do, without their maps.
Result<UniqueFd> LoadMarkRedirectProbe(uint32_t match, uint32_t set, int ifindex,
                                       bool as_host = false);

}  // namespace mmchaos
