#include "loader/counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

namespace mmchaos {

Result<Counters> ReadCounters(int map_fd) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Fail("libbpf_num_possible_cpus", -ncpus);
  Counters out{};
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  for (uint32_t slot = 0; slot < MMC_COUNTER_SLOTS; ++slot) {
    if (bpf_map_lookup_elem(map_fd, &slot, per_cpu.data()) != 0)
      return Fail("bpf_map_lookup_elem(mmc_counters)", errno);
    for (uint64_t v : per_cpu) out[slot] += v;
  }
  return out;
}

Result<ReqStats> ReadReqStats(int map_fd) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Fail("libbpf_num_possible_cpus", -ncpus);
  ReqStats out{};
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  for (uint32_t slot = 0; slot < MMC_REQSTAT_SLOTS; ++slot) {
    if (bpf_map_lookup_elem(map_fd, &slot, per_cpu.data()) != 0)
      return Fail("bpf_map_lookup_elem(mmc_reqstats)", errno);
    for (uint64_t v : per_cpu) out[slot] += v;
  }
  return out;
}

Result<mmc_config> ReadKernelConfig(int map_fd) {
  uint32_t zero = 0;
  mmc_config cfg{};
  if (bpf_map_lookup_elem(map_fd, &zero, &cfg) != 0)
    return Fail("bpf_map_lookup_elem(mmc_cfg)", errno);
  return cfg;
}

}  // namespace mmchaos
