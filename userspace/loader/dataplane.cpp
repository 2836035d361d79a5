#include "loader/dataplane.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "loader/libbpf_print.h"
#include "mmchaos_bpf.skel.h"

namespace mmchaos {

void DataPlane::SkelDeleter::operator()(::mmchaos_bpf* s) const { mmchaos_bpf__destroy(s); }
void BpfLinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

Result<std::unique_ptr<DataPlane>> DataPlane::Load() {
  UseLibbpfWarnings();
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
  for (bpf_program* prog : {skel_->progs.mmc_egress, skel_->progs.mmc_ingress,
                            skel_->progs.mmc_connect4, skel_->progs.mmc_connect6}) {
    BpfLink link(bpf_program__attach_cgroup(prog, cgroup_fd));
    if (!link) {
      int err = errno;
      links_.clear();
      return Fail(std::string("bpf_program__attach_cgroup(") + bpf_program__name(prog) + ")", err,
                  PrivilegeHint(err));
    }
    links_.push_back(std::move(link));
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

Result<void> DataPlane::Heartbeat(uint64_t now_ns) {
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_hb), &zero, &now_ns, BPF_ANY) != 0)
    return Fail("bpf_map_update_elem(mmc_hb)", errno);
  return {};
}

namespace {

// Makes a hash map hold exactly `want`: updates first, then deletes what is no longer wanted,
// so a key that stays is never missing in between.
template <typename K, typename V>
Result<void> ReplaceHash(int fd, const char* name, const std::vector<std::pair<K, V>>& want) {
  for (const auto& [k, v] : want)
    if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) != 0)
      return Fail(std::string("bpf_map_update_elem(") + name + ")", errno,
                  errno == E2BIG ? "too many entries for the map" : "");
  std::vector<K> stale;
  K key{}, next{};
  const K* cur = nullptr;
  while (bpf_map_get_next_key(fd, cur, &next) == 0) {
    bool keep = false;
    for (const auto& [k, v] : want) keep |= std::memcmp(&k, &next, sizeof(K)) == 0;
    if (!keep) stale.push_back(next);
    key = next;
    cur = &key;
  }
  for (const auto& k : stale) bpf_map_delete_elem(fd, &k);
  return {};
}

}  // namespace

Result<void> DataPlane::SetEndpoints(
    const std::vector<std::pair<mmc_endpoint_key, mmc_endpoint_val>>& eps) {
  return ReplaceHash(bpf_map__fd(skel_->maps.mmc_endpoints), "mmc_endpoints", eps);
}

Result<void> DataPlane::SetInterfaces(const std::vector<int>& ifindexes) {
  std::vector<IfaceRoute> routes;
  for (int i : ifindexes) routes.push_back({i, 0, 0, 0});
  return SetRoutes(routes);
}

Result<void> DataPlane::SetRoutes(const std::vector<IfaceRoute>& routes) {
  std::vector<std::pair<uint32_t, mmc_iface>> ifaces;
  std::vector<std::pair<uint32_t, uint32_t>> bounce;
  for (const auto& r : routes) {
    ifaces.emplace_back(static_cast<uint32_t>(r.ifindex),
                        mmc_iface{static_cast<__u32>(r.ifb), static_cast<__u32>(r.bounce_in)});
    if (r.bounce_out)
      bounce.emplace_back(static_cast<uint32_t>(r.bounce_out), static_cast<uint32_t>(r.ifindex));
  }
  // A packet sent into a bounce veth must find its way out again: the way back is written
  // before the way in, and removed after it.
  const int in = bpf_map__fd(skel_->maps.mmc_ifaces), back = bpf_map__fd(skel_->maps.mmc_bounce);
  if (!bounce.empty()) {
    if (auto b = ReplaceHash(back, "mmc_bounce", bounce); !b) return b;
  }
  if (auto i = ReplaceHash(in, "mmc_ifaces", ifaces); !i) return i;
  return ReplaceHash(back, "mmc_bounce", bounce);
}

int DataPlane::reqstats_fd() const { return bpf_map__fd(skel_->maps.mmc_reqstats); }
int DataPlane::restlat_fd() const { return bpf_map__fd(skel_->maps.mmc_restlat); }
int DataPlane::requests_fd() const { return bpf_map__fd(skel_->maps.mmc_requests); }

int DataPlane::tc_ingress_prog_fd() const { return bpf_program__fd(skel_->progs.mmc_tc_ingress); }
int DataPlane::tc_egress_prog_fd() const { return bpf_program__fd(skel_->progs.mmc_tc_egress); }
int DataPlane::tc_bounce_prog_fd() const { return bpf_program__fd(skel_->progs.mmc_tc_bounce); }

Result<Counters> DataPlane::ReadCounters() const { return mmchaos::ReadCounters(counters_fd()); }

const bpf_object* DataPlane::object() const { return skel_->obj; }
int DataPlane::events_fd() const { return bpf_map__fd(skel_->maps.mmc_events); }
int DataPlane::counters_fd() const { return bpf_map__fd(skel_->maps.mmc_counters); }
int DataPlane::config_fd() const { return bpf_map__fd(skel_->maps.mmc_cfg); }

}  // namespace mmchaos
