#include "loader/dataplane.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

#include "mmchaos_bpf.skel.h"

namespace mmchaos {
namespace {

// libbpf's warnings (verifier logs, missing BTF) go to stderr; its chatter does not.
int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || level == LIBBPF_INFO) return 0;
  return std::vfprintf(stderr, fmt, args);
}

}  // namespace

void DataPlane::SkelDeleter::operator()(::mmchaos_bpf* s) const { mmchaos_bpf__destroy(s); }
void DataPlane::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

Result<std::unique_ptr<DataPlane>> DataPlane::Load() {
  libbpf_set_print(LibbpfPrint);
  std::unique_ptr<DataPlane> dp(new DataPlane());
  dp->skel_.reset(mmchaos_bpf__open());
  if (!dp->skel_) return Fail("mmchaos_bpf__open (BPF object)", errno);
  int err = mmchaos_bpf__load(dp->skel_.get());
  if (err != 0)
    return Fail("mmchaos_bpf__load (verifier)", err,
                PrivilegeHint(err).empty() ? "see the libbpf log above; run `mmchaos doctor`"
                                           : PrivilegeHint(err));
  return dp;
}

DataPlane::~DataPlane() = default;

Result<void> DataPlane::Attach(int cgroup_fd) {
  if (!links_.empty()) return {};
  for (bpf_program* prog : {skel_->progs.mmc_egress, skel_->progs.mmc_ingress}) {
    bpf_link* link = bpf_program__attach_cgroup(prog, cgroup_fd);
    if (!link) {
      int err = errno;
      links_.clear();
      return Fail(std::string("bpf_program__attach_cgroup(") + bpf_program__name(prog) + ")", err,
                  PrivilegeHint(err));
    }
    links_.emplace_back(link);
  }
  attached_ = true;
  return {};
}

void DataPlane::Detach() {
  attached_ = false;
  links_.clear();
}

bool DataPlane::LinksAlive() const {
  for (const auto& l : links_) {
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_link__fd(l.get()), &info, &len) != 0) return false;
    if (info.cgroup.cgroup_id == 0) return false;  // detached by someone else
  }
  return !links_.empty();
}

Result<void> DataPlane::WriteConfig(const mmc_config& cfg) {
  uint32_t zero = 0;
  if (bpf_map_update_elem(config_fd(), &zero, &cfg, BPF_ANY) != 0)
    return Fail("bpf_map_update_elem(mmc_cfg)", errno);
  return {};
}

Result<Counters> DataPlane::ReadCounters() const { return mmchaos::ReadCounters(counters_fd()); }

int DataPlane::events_fd() const { return bpf_map__fd(skel_->maps.mmc_events); }
int DataPlane::counters_fd() const { return bpf_map__fd(skel_->maps.mmc_counters); }
int DataPlane::config_fd() const { return bpf_map__fd(skel_->maps.mmc_cfg); }

}  // namespace mmchaos
