#include "loader/counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <string>
#include <vector>

namespace mmchaos {

namespace {

// Sums every slot of a per-CPU u64 array map over all possible CPUs.
template <size_t N>
Result<std::array<uint64_t, N>> SumPerCpu(int map_fd, const char* name) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Fail("libbpf_num_possible_cpus", -ncpus);
  std::array<uint64_t, N> out{};
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  for (uint32_t slot = 0; slot < N; ++slot) {
    if (bpf_map_lookup_elem(map_fd, &slot, per_cpu.data()) != 0)
      return Fail(std::string("bpf_map_lookup_elem(") + name + ")", errno);
    for (uint64_t v : per_cpu) out[slot] += v;
  }
  return out;
}

}  // namespace

Result<Counters> ReadCounters(int map_fd) {
  return SumPerCpu<MMC_COUNTER_SLOTS>(map_fd, "mmc_counters");
}

Result<void> AddToCounter(int map_fd, uint32_t slot, uint64_t n) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Fail("libbpf_num_possible_cpus", -ncpus);
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  if (bpf_map_lookup_elem(map_fd, &slot, per_cpu.data()) != 0)
    return Fail("bpf_map_lookup_elem(mmc_counters)", errno);
  per_cpu[0] += n;  // the controller is the slot's only writer: read-modify-write is safe
  if (bpf_map_update_elem(map_fd, &slot, per_cpu.data(), BPF_EXIST) != 0)
    return Fail("bpf_map_update_elem(mmc_counters)", errno);
  return {};
}

Result<ReqStats> ReadReqStats(int map_fd) {
  return SumPerCpu<MMC_REQSTAT_SLOTS>(map_fd, "mmc_reqstats");
}

Result<RestLatency> ReadRestLatency(int map_fd) {
  return SumPerCpu<MMC_RESTLAT_SLOTS>(map_fd, "mmc_restlat");
}

Result<mmc_config> ReadKernelConfig(int map_fd) {
  uint32_t zero = 0;
  mmc_config cfg{};
  if (bpf_map_lookup_elem(map_fd, &zero, &cfg) != 0)
    return Fail("bpf_map_lookup_elem(mmc_cfg)", errno);
  return cfg;
}

}  // namespace mmchaos
