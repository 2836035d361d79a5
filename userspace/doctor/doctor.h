// `mmchaos doctor`: what this host's kernel can do, scenario by scenario, found by trying it
// (load the data plane, attach it to a scratch cgroup, detach), not by reading version numbers.
#pragma once

#include <string>
#include <vector>

#include "mmchaos.h"

namespace mmchaos {

struct ProbeResult {
  std::string name;  // e.g. "bpf_load"
  bool ok = false;
  std::string detail;  // what was found or why it failed
};

struct ScenarioSupport {
  mmc_scenario id;
  bool supported = false;
  std::string mechanism;  // how mmchaos runs it here
  std::string reason;     // why not, and what to do
};

struct DoctorReport {
  std::string kernel;
  std::string tc_attach;  // "tcx" or "clsact": how tc programs are attached here
  std::string cgroup2;    // the cgroup v2 mount mmchaos uses ("" if none): for scripts
  std::vector<ProbeResult> probes;
  std::vector<ScenarioSupport> scenarios;
};

DoctorReport RunDoctor();
std::string DoctorText(const DoctorReport& r);
std::string DoctorJson(const DoctorReport& r);

}  // namespace mmchaos
