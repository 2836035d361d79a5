#include "tls/tls_uprobe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "loader/dataplane.h"
#include "mmchaos_tls_bpf.skel.h"
#include "uprobe/elf_symbol.h"
#include "uprobe/load_refusal.h"
#include "uprobe/plane_object.h"

namespace mmchaos {
namespace {
constexpr char kLibssl[] = "libssl.so.3";
}  // namespace

std::vector<UprobeSpec> TlsSpecs(::mmchaos_tls_bpf* skel) {
  const std::string lib = HostLibrary(kLibssl);
  auto& p = skel->progs;
  return {{p.mmc_tls_write, kLibssl, lib, "SSL_write", false},
          {p.mmc_tls_write_ex, kLibssl, lib, "SSL_write_ex", false},
          {p.mmc_tls_read, kLibssl, lib, "SSL_read", false},
          {p.mmc_tls_read_ret, kLibssl, lib, "SSL_read", true},
          {p.mmc_tls_read_ex, kLibssl, lib, "SSL_read_ex", false},
          {p.mmc_tls_read_ex_ret, kLibssl, lib, "SSL_read_ex", true},
          {p.mmc_tls_free, kLibssl, lib, "SSL_free", false}};
}

void TlsUprobes::SkelDeleter::operator()(::mmchaos_tls_bpf* s) const {
  mmchaos_tls_bpf__destroy(s);
}

TlsUprobes::~TlsUprobes() { probes_.reset(); }

Result<std::unique_ptr<TlsUprobes>> TlsUprobes::Attach(const DataPlane& plane, int cgroup_fd,
                                                       const std::string& cgroup) {
  std::unique_ptr<TlsUprobes> u(new TlsUprobes());
  u->cgroup_ = cgroup;
  u->skel_.reset(mmchaos_tls_bpf__open());
  if (!u->skel_) return Fail("mmchaos_tls_bpf__open (BPF object)", errno);
  auto loaded = LoadOnDataPlane(
      u->skel_->obj, plane, [&] { return mmchaos_tls_bpf__load(u->skel_.get()); },
      "mmchaos_tls_bpf",
      "the kernel refused the TLS uprobes (bpf_probe_write_user is refused under kernel "
      "lockdown): `mmchaos doctor` says why; use faults.tls_mechanism: preload and `mmchaos exec`",
      u->skel_->maps.mmc_tls_cg, cgroup_fd);
  if (!loaded) return std::unexpected(loaded.error());
  u->probes_ = std::make_unique<ProcessUprobes>(TlsSpecs(u->skel_.get()), "tls");
  if (auto a = u->probes_->Sync(cgroup); !a) return std::unexpected(a.error());
  return u;
}

Result<void> TlsUprobes::SetEndpoints(const std::vector<TlsAuthority>& endpoints,
                                      const std::vector<uint8_t>& exchanges) {
  const int fd = bpf_map__fd(skel_->maps.mmc_tls_eps);
  auto key = [](const TlsAuthority& a) {
    return std::string(a.host, sizeof(a.host)) + std::to_string(a.port);
  };
  std::set<std::string> keep;
  for (const auto& e : endpoints) keep.insert(key(e));
  for (const auto& e : endpoints_)
    if (!keep.count(key(e))) bpf_map_delete_elem(fd, &e);  // gone from the config
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const uint8_t exchange = i < exchanges.size() ? exchanges[i] : 0;
    if (bpf_map_update_elem(fd, &endpoints[i], &exchange, BPF_ANY) != 0)
      return Fail("bpf_map_update_elem(mmc_tls_eps)", errno);
  }
  endpoints_ = endpoints;
  return {};
}

Result<void> TlsUprobes::Sync() { return probes_->Sync(cgroup_); }

uint64_t TlsUprobes::H2Connections() const {
  const uint32_t zero = 0;
  uint64_t n = 0;
  return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.mmc_tls_h2), &zero, &n) == 0 ? n : 0;
}

Result<void> ProbeTlsUprobe() {
  // Once per process: the kernel's answer does not change while it runs, and the kernel config
  // asks it on every (re)load (TlsAccounting).
  static const std::string refused = [] {
    std::unique_ptr<::mmchaos_tls_bpf, void (*)(::mmchaos_tls_bpf*)> skel(nullptr,
                                                                          mmchaos_tls_bpf__destroy);
    return LoadRefusal("the TLS uprobes on libssl", [&] {
      skel.reset(mmchaos_tls_bpf__open());
      return skel ? mmchaos_tls_bpf__load(skel.get()) : -errno;
    });
  }();
  if (!refused.empty()) return Fail(refused);
  return {};
}

}  // namespace mmchaos
