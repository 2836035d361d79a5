#include "discovery/discovery.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>
#include <map>

#include "common/fd.h"
#include "tc/tcx.h"

namespace mmchaos {
namespace {

constexpr const char kProgPrefix[] = "mmc_";

struct ProgFacts {
  std::string name;
  std::vector<uint32_t> map_ids;
};

Result<ProgFacts> ProgInfo(uint32_t prog_id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(prog_id));
  if (!fd) return Fail("bpf_prog_get_fd_by_id", errno, PrivilegeHint(errno));
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
    return Fail("bpf_obj_get_info_by_fd(prog)", errno);
  ProgFacts facts{info.name, std::vector<uint32_t>(info.nr_map_ids)};
  if (info.nr_map_ids > 0) {
    bpf_prog_info again{};
    again.nr_map_ids = info.nr_map_ids;
    again.map_ids = reinterpret_cast<uint64_t>(facts.map_ids.data());
    len = sizeof(again);
    if (bpf_obj_get_info_by_fd(fd.get(), &again, &len) != 0)
      return Fail("bpf_obj_get_info_by_fd(prog map ids)", errno);
    facts.map_ids.resize(again.nr_map_ids);
  }
  return facts;
}

// tcx's link info, {ifindex, attach_type}, sits where netns' {netns_ino, attach_type} does in
// the 6.1 header that Debian 12 builds with (which predates tcx).
uint32_t TcxIfindex(const bpf_link_info& info) { return info.netns.netns_ino; }

// Visits each cgroup or tcx link whose program name starts with mmc_, with an open fd to it.
template <typename Fn>
Result<void> ForEachOurLink(Fn&& fn) {
  uint32_t id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    UniqueFd fd(bpf_link_get_fd_by_id(id));
    if (!fd) {
      if (errno == ENOENT) continue;  // went away while we walked
      return Fail("bpf_link_get_fd_by_id", errno, PrivilegeHint(errno));
    }
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
    const bool tcx = info.type == kBpfLinkTypeTcx;
    if (info.type != BPF_LINK_TYPE_CGROUP && !tcx) continue;
    auto prog = ProgInfo(info.prog_id);
    if (!prog) continue;
    if (prog->name.rfind(kProgPrefix, 0) != 0) continue;
    AttachedLink link{id, info.prog_id, prog->name, tcx};
    if (tcx) {
      link.ifindex = TcxIfindex(info);
      link.attach_type = info.netns.attach_type;
    } else {
      link.cgroup_id = info.cgroup.cgroup_id;
      link.attach_type = info.cgroup.attach_type;
    }
    fn(fd.get(), link, prog->map_ids);
  }
  if (errno != ENOENT) return Fail("bpf_link_get_next_id", errno, PrivilegeHint(errno));
  return {};
}

std::string MapName(uint32_t map_id, UniqueFd* out) {
  UniqueFd fd(bpf_map_get_fd_by_id(map_id));
  if (!fd) return {};
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return {};
  *out = std::move(fd);
  return info.name;
}

}  // namespace

Result<std::vector<AttachedDataPlane>> FindAttached() {
  std::map<uint32_t, AttachedDataPlane> by_cfg;
  auto walked =
      ForEachOurLink([&](int, const AttachedLink& link, const std::vector<uint32_t>& map_ids) {
        uint32_t cfg_id = 0, cnt_id = 0;
        UniqueFd cfg_fd, cnt_fd;
        for (uint32_t m : map_ids) {
          UniqueFd fd;
          std::string name = MapName(m, &fd);
          if (name == "mmc_cfg") cfg_id = m, cfg_fd = std::move(fd);
          if (name == "mmc_counters") cnt_id = m, cnt_fd = std::move(fd);
        }
        // Grouped by the counters map: every program of one data plane counts into it (the
        // connect hooks use no config).
        auto& dp = by_cfg[cnt_id];
        dp.config_map_id = cfg_id;
        dp.counters_map_id = cnt_id;
        dp.links.push_back(link);
        if (!dp.config && cfg_fd) {
          if (auto c = ReadKernelConfig(cfg_fd.get())) dp.config = *c;
        }
        if (!dp.counters && cnt_fd) {
          if (auto c = ReadCounters(cnt_fd.get())) dp.counters = *c;
        }
      });
  if (!walked) return std::unexpected(walked.error());
  std::vector<AttachedDataPlane> out;
  for (auto& [_, dp] : by_cfg) out.push_back(std::move(dp));
  return out;
}

Result<int> DetachAll() {
  int detached = 0;
  Error first{};
  auto walked = ForEachOurLink([&](int fd, const AttachedLink& link, const std::vector<uint32_t>&) {
    if (!link.attached()) return;  // already detached, its owner has not exited yet
    if (bpf_link_detach(fd) == 0) {
      ++detached;
    } else if (first.call.empty()) {
      first = Error{"bpf_link_detach(link " + std::to_string(link.link_id) + ")", errno,
                    PrivilegeHint(errno)};
    }
  });
  if (!walked) return std::unexpected(walked.error());
  if (!first.call.empty()) return std::unexpected(first);
  return detached;
}

}  // namespace mmchaos
