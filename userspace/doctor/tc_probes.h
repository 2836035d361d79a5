// Doctor's probes of the tc path: each builds what `run` would, in a scratch network namespace
// (a forked child: everything made goes with it), and says whether it works here. `validate`
// asks ProbeNetemSupport too, before a delay scenario is accepted.
#pragma once

#include "common/error.h"

namespace mmchaos {

// Attaches the data plane's tc programs to lo in a scratch network namespace the way this kernel
// does it (DetectTcAttach): tcx links for ingress and egress, or a direct-action filter on
// clsact ingress. An error says what failed.
Result<void> ProbeTcAttach(int ingress_prog_fd, int egress_prog_fd);

// Builds the whole path in a scratch network namespace and sends a packet through it: ifb, htb,
// netem, and either a tcx program's bpf_redirect or clsact + u32 + skbedit + mirred; the packet
// must arrive, no earlier than netem's delay. An error says what failed and why (netlink errors
// with libnl's text, as NlFail makes them).
Result<void> ProbeNetemSupport();

}  // namespace mmchaos
