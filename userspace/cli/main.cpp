// mmchaos: kernel-level chaos injection for one engine's cgroup. A thin CLI over the libraries.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cgroup/locate.h"
#include "cli/status.h"
#include "common/log.h"
#include "config/config.h"
#include "controller/controller.h"
#include "controller/kernel_config.h"
#include "doctor/doctor.h"
#include "exec/exec.h"
#include "experiment/experiment.h"
#include "report/report.h"

namespace {

constexpr int kExitConfig = 2;

// `run` and `experiment` end the process here, at once: the metrics server the controller leaves
// running would otherwise hold the exit for its poll loop (1-2 s), and nothing else is left to
// release (the controller has torn down what it placed; the kernel closes the rest).
[[noreturn]] void ExitAfterController(int rc) {
  std::fflush(nullptr);
  _exit(rc);
}

// --unit / --pod / --container: what operators name, each excluding the others and --cgroup
// (and --pid where given); resolved to a cgroup before the command runs.
struct TargetFlags {
  std::string unit, pod, container;

  void Add(CLI::App* sub, std::vector<CLI::Option*> excluded) {
    auto* u = sub->add_option("--unit", unit, "target the cgroup of this systemd unit");
    auto* p = sub->add_option("--pod", pod, "target the cgroup of pod NAMESPACE/NAME (this node)");
    auto* c = sub->add_option("--container", container, "target the cgroup of this container id");
    excluded.insert(excluded.end(), {u, p});
    for (auto* o : {u, p, c})
      for (auto* x : excluded)
        if (x != o) o->excludes(x);
  }

  // The cgroup named, "" when none was; false (after printing why) when it cannot be found.
  bool Resolve(std::string& cgroup) const {
    auto found = mmchaos::LocateTarget(unit, pod, container);
    if (!found) {
      mmchaos::LogError(found.error().message());
      return false;
    }
    if (found->empty()) return true;
    mmchaos::Logf("target %s: %s",
                  (!unit.empty()  ? "unit " + unit
                   : !pod.empty() ? "pod " + pod
                                  : "container " + container)
                      .c_str(),
                  found->c_str());
    cgroup = *found;
    return true;
  }
};

int Validate(const std::string& path, bool probe_kernel) {
  auto cfg = mmchaos::LoadConfig(path);
  if (!cfg) {
    mmchaos::LogError(cfg.error().message());
    return kExitConfig;
  }
  for (const auto& w : cfg->warnings) mmchaos::LogWarning(w);
  const auto probes = probe_kernel ? mmchaos::KernelProbes::kRun : mmchaos::KernelProbes::kSkip;
  if (probe_kernel)
    mmchaos::LogNote(
        "--probe-kernel: trying this kernel (a scratch netns with an ifb and qdiscs, BPF programs "
        "loaded; all removed again)");
  for (const auto& n : mmchaos::ScenarioNotes(*cfg, probes)) mmchaos::LogNote(n);
  auto unsupported = mmchaos::CheckScenarios(*cfg, probes);
  for (const auto& u : unsupported) mmchaos::LogError(u);
  std::cout << mmchaos::DumpConfig(*cfg);
  return unsupported.empty() ? 0 : kExitConfig;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mmchaos: kernel-level chaos injection for a market-making engine's cgroup"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mmchaos 0.1.0");

  std::string config_path;
  auto* validate =
      app.add_subcommand("validate", "Parse and check a config; print the effective values");
  validate->add_option("-c,--config", config_path, "chaos.yaml")->required();
  bool probe_kernel = false;
  validate->add_flag("--probe-kernel", probe_kernel,
                     "also try what this kernel supports (netem, clock uprobes): makes and "
                     "removes a scratch netns, ifb and BPF programs");

  bool json = false;
  auto* doctor =
      app.add_subcommand("doctor", "Probe what this kernel supports, scenario by scenario");
  doctor->add_flag("--json", json, "JSON output");

  mmchaos::RunOptions run_opts;
  auto* run =
      app.add_subcommand("run", "Attach to the target and drive the schedule in the foreground");
  run->add_option("-c,--config", run_opts.config_path, "chaos.yaml")->required();
  auto* cg = run->add_option("--cgroup", run_opts.cgroup, "target cgroup v2 directory");
  auto* pid =
      run->add_option("--pid", run_opts.pid, "target the cgroup of this process")->excludes(cg);
  TargetFlags run_target;
  run_target.Add(run, {cg, pid});
  run->add_flag("--dry-run", run_opts.force_dry_run, "shadow mode whatever the config says");
  run->add_option("--duration", run_opts.duration_sec, "stop after SECONDS")
      ->check(CLI::NonNegativeNumber);

  mmchaos::ExperimentOptions exp_opts;
  auto* experiment = app.add_subcommand(
      "experiment",
      "One scenario against the running engine: baseline (shadow), bursts (live), recovery; "
      "writes OUT/runs/<timestamp>-<scenario>.json");
  experiment->add_option("-c,--config", exp_opts.config_path, "chaos.yaml")->required();
  experiment->add_option("--scenario", exp_opts.scenario, "e.g. net_loss, exch_429, lat_spike")
      ->required();
  experiment->add_option("--out", exp_opts.out_dir, "output directory (default artifacts/chaos)");
  auto* exp_cg = experiment->add_option("--cgroup", exp_opts.cgroup, "target cgroup v2 directory");
  TargetFlags exp_target;
  exp_target.Add(experiment, {exp_cg});
  std::vector<std::string> exec_cmd;
  auto* exec = app.add_subcommand(
      "exec", "Run CMD in the target cgroup (and netns), with the clock_skew preload if needed");
  exec->add_option("-c,--config", config_path, "chaos.yaml")->required();
  mmchaos::ExecIdentity exec_as;
  exec->add_option("--user", exec_as.user,
                   "run CMD as this user (name or uid), with its groups from the group database");
  exec->add_option("--group", exec_as.group, "primary group of CMD (name or gid), with --user");
  exec->add_option("command", exec_cmd, "-- CMD [ARGS...]");
  // Everything after exec's `--` is the command, options included: it never reaches CLI11.
  if (argc > 1 && std::string_view(argv[1]) == "exec") {
    for (int i = 2; i < argc; ++i) {
      if (std::string_view(argv[i]) != "--") continue;
      exec_cmd.assign(argv + i + 1, argv + argc);
      argc = i;
      break;
    }
  }

  auto* status = app.add_subcommand("status", "What mmchaos has attached on this host");
  status->add_flag("--json", json, "JSON output");

  auto* rollback = app.add_subcommand("rollback", "Remove everything mmchaos placed on this host");

  std::string runs_dir, output, report_md;
  auto* report = app.add_subcommand("report", "Summarise experiment runs into report.md + charts");
  report->add_option("--runs", runs_dir, "directory of runs/*.json")->required();
  report->add_option("--output", output, "report.md to write")->required();
  auto* findings = app.add_subcommand("findings", "Turn report.md into findings.json");
  findings->add_option("--report", report_md, "report.md to read")->required();
  findings->add_option("--output", output, "findings.json to write")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitConfig;
  }

  // Every failure is meant to be an Error with its reason; this is the net for what is not (a
  // library's exception, an allocation failure): a message and an exit code, never an abort.
  try {
    if (*validate) return Validate(config_path, probe_kernel);
    if (*doctor) {
      auto rep = mmchaos::RunDoctor();
      std::cout << (json ? mmchaos::DoctorJson(rep) + "\n" : mmchaos::DoctorText(rep));
      for (const auto& p : rep.probes)
        if (p.name == "bpf_load" && !p.ok) return 1;
      return 0;
    }
    if (*run) {
      if (!run_target.Resolve(run_opts.cgroup)) return kExitConfig;
      ExitAfterController(mmchaos::RunController(run_opts));
    }
    if (*experiment) {
      if (!exp_target.Resolve(exp_opts.cgroup)) return kExitConfig;
      ExitAfterController(mmchaos::ExperimentCommand(exp_opts));
    }
    if (*exec) return mmchaos::ExecCommand(config_path, exec_cmd, exec_as);
    if (*status) return mmchaos::StatusCommand(json);
    if (*rollback) return mmchaos::RollbackCommand();
    if (*report) return mmchaos::ReportCommand(runs_dir, output);
    if (*findings) return mmchaos::FindingsCommand(report_md, output);
  } catch (const std::bad_alloc&) {
    mmchaos::LogError("out of memory");
    return *validate ? kExitConfig : *exec ? 125 : 1;
  } catch (const std::exception& e) {
    mmchaos::LogError(e.what());
    return *validate ? kExitConfig : *exec ? 125 : 1;
  }
  return kExitConfig;
}
