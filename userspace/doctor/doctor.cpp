#include "doctor/doctor.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cgroup/cgroup.h"
#include "cgroup/memory.h"
#include "clock/clock_skew.h"
#include "common/scenarios.h"
#include "doctor/tc_probes.h"
#include "loader/dataplane.h"
#include "tc/steering.h"
#include "tls/tls_uprobe.h"

namespace mmchaos {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Creates a scratch cgroup, attaches the data plane's links to it and detaches them again.
ProbeResult ProbeCgroupAttach(DataPlane* plane, const std::string& mount) {
  ProbeResult r{"cgroup_skb_attach", false, ""};
  std::string dir = mount + "/mmchaos-doctor-" + std::to_string(getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) {
    r.detail = "mkdir " + dir + ": " + std::strerror(errno);
    return r;
  }
  {
    auto fd = OpenCgroup(dir);
    if (!fd) {
      r.detail = fd.error().message();
    } else if (auto a = plane->Attach(fd->get()); !a) {
      r.detail = a.error().message();
    } else {
      r.ok = plane->LinksAlive();
      r.detail = r.ok ? "egress+ingress bpf_links attached to a scratch cgroup and detached"
                      : "links attached but not reported alive";
      plane->Detach();
    }
  }
  ::rmdir(dir.c_str());
  return r;
}

// mem_pressure's mechanism, tried: the hierarchy has the memory controller, and a scratch cgroup
// under the root gets memory.high, which takes a write (its own value back).
ProbeResult ProbeMemoryHigh(const std::string& mount) {
  ProbeResult r{"memory_high", false, MemoryControllerProblem(mount, "")};
  if (!r.detail.empty()) return r;
  std::string dir = mount + "/mmchaos-doctor-mem-" + std::to_string(getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) {
    r.detail = "mkdir " + dir + ": " + std::strerror(errno);
    return r;
  }
  r.detail = MemoryControllerProblem(mount, dir);
  if (r.detail.empty()) {
    std::string high = ReadFirstLine(dir + "/memory.high");
    std::ofstream out(dir + "/memory.high");
    out << high << std::flush;
    r.ok = !high.empty() && out.good();
    r.detail = r.ok ? "memory.high of a scratch cgroup read and written (the target's parent must "
                      "list memory in cgroup.subtree_control: `validate` checks target.cgroup)"
                    : "writing memory.high of a scratch cgroup failed: " +
                          std::string(std::strerror(errno));
  }
  ::rmdir(dir.c_str());
  return r;
}

}  // namespace

DoctorReport RunDoctor() {
  DoctorReport rep;
  utsname u{};
  if (uname(&u) == 0) rep.kernel = std::string(u.release);

  bool btf = std::filesystem::exists("/sys/kernel/btf/vmlinux");
  rep.probes.push_back({"btf", btf,
                        btf ? "/sys/kernel/btf/vmlinux present (CO-RE relocations work)"
                            : "no kernel BTF: CONFIG_DEBUG_INFO_BTF is needed"});

  auto mount = Cgroup2Mount();
  if (mount) rep.cgroup2 = *mount;
  rep.probes.push_back(
      {"cgroup2", mount.has_value(), mount ? "mounted at " + *mount : mount.error().message()});

  std::string lockdown = ReadFirstLine("/sys/kernel/security/lockdown");
  rep.probes.push_back(
      {"lockdown", true, lockdown.empty() ? "unknown (securityfs not mounted)" : lockdown});

  bool attach_ok = false;
  auto dp = DataPlane::Load();
  rep.probes.push_back(
      {"bpf_load", dp.has_value(),
       dp ? "data plane loaded (verifier accepted every program)" : dp.error().message()});
  if (dp && mount) {
    auto r = ProbeCgroupAttach(dp->get(), *mount);
    attach_ok = r.ok;
    rep.probes.push_back(r);
  }

  const TcAttach mode = DetectTcAttach();
  const bool tcx = mode == TcAttach::kTcx;
  rep.tc_attach = TcAttachName(mode);
  rep.probes.push_back(
      {"tc_attach_mode", true,
       tcx ? "tcx: tc programs are bpf_links on the interface; mmchaos adds no qdisc to it, so "
             "attach and detach never pause the device"
           : "clsact: no tcx links in this kernel (6.6+); mmchaos adds a clsact qdisc to an "
             "interface that has none, which pauses the device for a moment on attach and "
             "detach (provision it once to avoid that)"});
  Result<void> tc = dp ? ProbeTcAttach((*dp)->tc_ingress_prog_fd(), (*dp)->tc_egress_prog_fd())
                       : Fail("data plane did not load");
  rep.probes.push_back(
      {"tc_attach", tc.has_value(),
       !tc   ? tc.error().message()
       : tcx ? "mmc_tc_ingress and mmc_tc_egress attached as tcx links in a scratch netns"
             : "mmc_tc_ingress attached to clsact in a scratch netns"});
  Result<void> netem_path = ProbeNetemSupport();
  rep.probes.push_back(
      {"netem_path", netem_path.has_value(),
       !netem_path ? netem_path.error().message()
       : tcx ? "tcx bpf_redirect through a veth with netem (outbound) and an ifb + htb + netem "
               "+ fq (inbound): a packet crossed each in a scratch netns"
             : "ifb + htb + netem + fq + clsact + u32/skbedit/mirred: a packet crossed it each way "
               "in a scratch netns"});

  // clock_skew: the uprobes are attached and a scratch process's clock read is checked.
  Result<void> uprobes = ProbeClockUprobe(false);
  const std::string clock = uprobes ? "" : uprobes.error().message();
  std::string preload = PreloadLibraryPath();
  rep.probes.push_back({"clock_uprobe", clock.empty(),
                        clock.empty() ? "uprobe+uretprobe on libc clock_gettime skewed a scratch "
                                        "process's CLOCK_REALTIME (bpf_probe_write_user works)"
                                      : clock});
  // TLS status rewrites: the kernel loads the libssl uprobes (bpf_probe_write_user), else the
  // preload. faults.tls_mechanism: auto takes the first that works.
  Result<void> tls_uprobe = ProbeTlsUprobe();
  const std::string tls = tls_uprobe ? "" : tls_uprobe.error().message();
  rep.probes.push_back({"tls_uprobe", tls.empty(),
                        tls.empty() ? "the SSL_read(_ex)/SSL_write(_ex) uprobe programs loaded "
                                      "(bpf_probe_write_user allowed)"
                                    : tls});
  const std::string tls_how =
      tls.empty()
          ? "uprobes on SSL_read(_ex)/SSL_write(_ex) of the libssl the engine's processes map, "
            "per process (faults.tls_mechanism: auto or uprobe; no restart of the engine)"
      : preload.empty()
          ? "none (" + tls +
                "; and the preload library libmmchaos-clock.so is not installed "
                "next to mmchaos)"
          : "the preload wraps OpenSSL's SSL_read/SSL_write in an engine started through "
            "`mmchaos exec` (faults.tls_mechanism: auto or preload; uprobes refused: " +
                tls + ")";
  ProbeResult mem{"memory_high", false, "no cgroup2 mount"};
  if (mount) mem = ProbeMemoryHigh(*mount);
  rep.probes.push_back(mem);

  for (const auto& s : kScenarios) {
    ScenarioSupport sup{s.id, false, "", ""};
    if (!s.implemented) {
      sup.reason = "not implemented in this version of mmchaos";
    } else if (s.id == MMC_SCN_CLOCK_SKEW) {
      if (clock.empty()) {
        sup.supported = true;
        sup.mechanism =
            "uprobes on libc clock_gettime, filtered by the target cgroup (any "
            "dynamically linked glibc engine; gettimeofday/time need the preload)";
      } else if (!preload.empty()) {
        sup.supported = true;
        sup.mechanism = "preload fallback (" + preload +
                        "): only for an engine started through `mmchaos exec` (uprobes "
                        "unavailable: " +
                        clock + ")";
      } else {
        sup.reason = clock +
                     "; and the preload fallback libmmchaos-clock.so is not installed "
                     "next to mmchaos";
      }
    } else if (s.id == MMC_SCN_NET_LOSS) {
      sup.mechanism = "cgroup_skb egress/ingress on the target cgroup (silent drop)";
      sup.supported = attach_ok;
      if (!attach_ok) sup.reason = "cgroup BPF attach failed: see the probes above";
    } else if (s.id == MMC_SCN_MEM_PRESSURE) {
      sup.mechanism =
          "the controller lowers the target cgroup's memory.high during bursts (cgroup v2 "
          "memory controller: reclaim and throttling, never OOM)";
      sup.supported = mem.ok;
      if (!sup.supported) sup.reason = mem.detail;
    } else if (s.id != MMC_SCN_LAT_SPIKE && s.id != MMC_SCN_WS_LAG) {
      sup.mechanism =
          std::string("tc ingress (") + TcAttachName(mode) + "): " +
          (s.id == MMC_SCN_DNS_FLAP
               ? "the RCODE of DNS answers to the engine's sockets, in place, or the answer "
                 "dropped (dns_answer: timeout)"
           : s.id == MMC_SCN_WS_DISCONNECT || s.id == MMC_SCN_RECONCILE_MISMATCH
               ? "an inbound segment of the engine's flow becomes a RST"
               : "the status code of plaintext HTTP/1.x responses, in place; https:// "
                 "endpoints: " +
                     tls_how);
      sup.supported = attach_ok && tc.has_value();
      if (!sup.supported) sup.reason = tc ? "BPF attach failed: see above" : tc.error().message();
    } else if (s.id == MMC_SCN_LAT_SPIKE || s.id == MMC_SCN_WS_LAG) {
      if (tcx)
        sup.mechanism = s.id == MMC_SCN_LAT_SPIKE
                            ? "cgroup_skb egress marks REST packets; tcx egress bpf_redirect "
                              "through a veth pair with netem"
                            : "tcx ingress (socket lookup + tag) bpf_redirect of WS packets to an "
                              "ifb; netem";
      else
        sup.mechanism = s.id == MMC_SCN_LAT_SPIKE
                            ? "cgroup_skb egress marks REST packets; clsact u32+mirred to an ifb; "
                              "netem"
                            : "tc ingress (socket lookup + tag) marks WS packets; clsact "
                              "u32+mirred to an ifb; netem";
      sup.supported = attach_ok && dp && netem_path.has_value();
      if (!sup.supported)
        sup.reason = netem_path ? "BPF load/attach failed: see the probes above"
                                : "needs netem: " + netem_path.error().message();
    }
    rep.scenarios.push_back(sup);
  }
  return rep;
}

std::string DoctorText(const DoctorReport& r) {
  std::ostringstream o;
  o << "kernel " << r.kernel << ", tc attach mode " << r.tc_attach << "\n\nprobes:\n";
  for (const auto& p : r.probes)
    o << "  " << (p.ok ? "ok  " : "FAIL") << "  " << p.name << ": " << p.detail << "\n";
  o << "\nscenarios:\n";
  for (const auto& s : r.scenarios) {
    o << "  " << (s.supported ? "yes " : "no  ") << "  " << ScenarioLabel(s.id) << ": "
      << (s.supported ? s.mechanism : s.reason) << "\n";
  }
  return o.str();
}

std::string DoctorJson(const DoctorReport& r) {
  nlohmann::ordered_json j;
  j["kernel"] = r.kernel;
  j["tc_attach"] = r.tc_attach;
  j["cgroup2"] = r.cgroup2.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.cgroup2);
  j["probes"] = nlohmann::json::array();
  for (const auto& p : r.probes)
    j["probes"].push_back({{"name", p.name}, {"ok", p.ok}, {"detail", p.detail}});
  j["scenarios"] = nlohmann::json::array();
  for (const auto& s : r.scenarios)
    j["scenarios"].push_back({{"scenario", std::string(ScenarioLabel(s.id))},
                              {"supported", s.supported},
                              {"mechanism", s.mechanism},
                              {"reason", s.reason}});
  return j.dump(2);
}

}  // namespace mmchaos
