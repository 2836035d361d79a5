// The one owner of a bpf_link: destroying it detaches (links are never pinned, so none outlives
// the process). Move-only, like every owner of a kernel object here.
#pragma once

#include <memory>

struct bpf_link;

namespace mmchaos {

struct BpfLinkDeleter {
  void operator()(bpf_link* l) const;  // bpf_link__destroy; defined in dataplane.cpp
};
using BpfLink = std::unique_ptr<bpf_link, BpfLinkDeleter>;

}  // namespace mmchaos
