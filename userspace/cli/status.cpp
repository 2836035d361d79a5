#include "cli/status.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "clock/clock_state.h"
#include "common/log.h"
#include "common/scenarios.h"
#include "controller/registry.h"
#include "controller/rollback.h"
#include "discovery/discovery.h"
#include "schedule.h"
#include "tc/netns.h"

namespace mmchaos {
namespace {

uint64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

nlohmann::ordered_json DataPlaneJson(const AttachedDataPlane& dp,
                                     const std::map<uint64_t, ControllerRecord>& ctl) {
  nlohmann::ordered_json j;
  uint64_t cgid = 0;
  j["links"] = nlohmann::json::array();
  for (const auto& l : dp.links) {
    if (!l.tcx && l.cgroup_id) cgid = l.cgroup_id;
    nlohmann::ordered_json lj{{"link_id", l.link_id},
                              {"prog", l.prog_name},
                              {"prog_id", l.prog_id},
                              {"hook", l.tcx ? "tcx" : "cgroup"}};
    if (l.tcx) lj["ifindex"] = l.ifindex;
    j["links"].push_back(lj);
  }
  j["cgroup_id"] = cgid;
  if (auto it = ctl.find(cgid); it != ctl.end()) {
    j["cgroup"] = it->second.cgroup;
    j["pid"] = it->second.pid;
    j["config"] = it->second.config;
  }
  if (dp.config) {
    const mmc_config& c = *dp.config;
    mmc_phase ph = mmc_schedule_phase(c.epoch_ns, c.on_ns, c.off_ns, MonoNs());
    j["armed"] = c.armed != 0;
    j["mode"] = c.dry_run ? "shadow" : "live";
    j["seed"] = c.seed;  // the salt of the rollout hash and the storm's draw (fleet.seed)
    j["burst"] = {
        {"phase", ph.on ? "on" : "off"},
        {"index", ph.burst},
        {"epoch_mono_ns", c.epoch_ns},
        {"on_sec", static_cast<double>(c.on_ns) / 1e9},
        {"off_sec", static_cast<double>(c.off_ns) / 1e9},
        {"remaining_sec", ph.remaining_ns == ~0ULL ? nlohmann::json(nullptr)
                                                   : nlohmann::json(ph.remaining_ns / 1e9)}};
  }
  if (dp.counters) {
    const Counters& k = *dp.counters;
    nlohmann::ordered_json inj;
    for (const auto& s : kScenarios)
      inj[std::string(s.label)] = {{"live", Injections(k, s.id, MMC_MODE_LIVE)},
                                   {"shadow", Injections(k, s.id, MMC_MODE_SHADOW)},
                                   {"failed", FailedActions(k, s.id)}};
    // clock_skew's preloads count in shared memory, not in the maps.
    auto clock = ReadClockCounts(cgid);
    inj["clock_skew"]["live"] = inj["clock_skew"]["live"].get<uint64_t>() + clock[0];
    inj["clock_skew"]["shadow"] = inj["clock_skew"]["shadow"].get<uint64_t>() + clock[1];
    // So do the TLS preloads' status rewrites.
    mmc_tls_counts tls = ReadTlsCounts(cgid);
    for (const auto& s : kScenarios) {
      const std::string key(s.label);
      inj[key]["live"] = inj[key]["live"].get<uint64_t>() + tls.injections[s.id][MMC_MODE_LIVE];
      inj[key]["shadow"] =
          inj[key]["shadow"].get<uint64_t>() + tls.injections[s.id][MMC_MODE_SHADOW];
    }
    j["injections"] = inj;
    j["packets"] = {{"egress", k[MMC_STAT_PKTS_EGRESS]}, {"ingress", k[MMC_STAT_PKTS_INGRESS]}};
  }
  return j;
}

}  // namespace

int StatusCommand(bool json) {
  auto found = FindAttached();
  if (!found) {
    LogError(found.error().message());
    return 1;
  }
  std::map<uint64_t, ControllerRecord> ctl;
  for (const auto& r : LiveControllers()) ctl[r.cgroup_id] = r;

  nlohmann::ordered_json all = nlohmann::json::array();
  for (const auto& dp : *found) {
    bool live = false;
    for (const auto& l : dp.links) live |= !l.tcx && l.attached();
    if (live) all.push_back(DataPlaneJson(dp, ctl));  // detached ones are on their way out
  }
  nlohmann::ordered_json netem = nlohmann::json::array();
  for (const auto& st : ReadStates()) {
    bool alive = ControllerAlive(st.cgroup_id);
    // A dead controller's record whose netns is gone describes nothing that still exists.
    if (!alive && FindNetns(st.steering.netns_inode).empty()) continue;
    nlohmann::ordered_json ifaces = nlohmann::json::array();
    for (const auto& i : st.steering.ifaces) ifaces.push_back(i.name);
    netem.push_back({{"cgroup_id", st.cgroup_id},
                     {"attach", TcAttachName(st.steering.attach)},
                     {"ifb", st.steering.ifb},
                     {"interfaces", ifaces},
                     {"netns", st.steering.netns_path},
                     {"controller_alive", alive}});
  }
  // memory.high lowered by mem_pressure (recorded only while a burst squeezes it).
  nlohmann::ordered_json memory = nlohmann::json::array();
  for (const auto& m : ReadMemoryRecords())
    memory.push_back({{"cgroup_id", m.cgroup_id},
                      {"cgroup", m.cgroup},
                      {"memory_high_original", m.original},
                      {"memory_high_applied", m.applied},
                      {"controller_alive", ControllerAlive(m.cgroup_id)}});
  nlohmann::ordered_json damaged = nlohmann::json::array();
  for (const auto& d : DamagedRecords()) damaged.push_back({{"path", d.path}, {"why", d.why}});
  if (json) {
    std::cout << nlohmann::ordered_json{{"attached", all},
                                        {"netem", netem},
                                        {"memory", memory},
                                        {"damaged_records", damaged}}
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  for (const auto& d : damaged)
    std::cout << "damaged record " << d["path"].get<std::string>() << ": "
              << d["why"].get<std::string>() << " (see `mmchaos rollback`)\n";
  for (const auto& m : memory)
    std::cout << "mem_pressure: memory.high of " << m["cgroup"].get<std::string>() << " at "
              << m["memory_high_applied"].get<std::string>() << " (was "
              << m["memory_high_original"].get<std::string>() << ")"
              << (m["controller_alive"].get<bool>() ? "" : " (stale: run `mmchaos rollback`)")
              << "\n";
  for (const auto& n : netem)
    std::cout << "tc path (" << n["attach"].get<std::string>() << "): ifb "
              << n["ifb"].get<std::string>() << " on " << n["interfaces"].dump()
              << (n["controller_alive"].get<bool>() ? "" : " (stale: run `mmchaos rollback`)")
              << "\n";
  if (all.empty()) {
    if (netem.empty() && memory.empty() && damaged.empty()) std::cout << "nothing attached\n";
    return 0;
  }
  for (const auto& j : all) {
    std::cout << "cgroup " << j.value("cgroup", std::string("?")) << " (id "
              << j["cgroup_id"].get<uint64_t>() << ")";
    if (j.contains("pid")) std::cout << ", controller pid " << j["pid"].get<int>();
    std::cout << "\n  links:";
    for (const auto& l : j["links"])
      std::cout << " " << l["prog"].get<std::string>() << "#" << l["link_id"].get<uint32_t>();
    std::cout << "\n";
    if (j.contains("mode")) {
      const auto& b = j["burst"];
      std::cout << "  mode " << j["mode"].get<std::string>()
                << (j["armed"].get<bool>() ? "" : " (disarmed)") << ", burst "
                << b["index"].get<uint64_t>() << " " << b["phase"].get<std::string>() << " (on "
                << b["on_sec"].get<double>() << "s / off " << b["off_sec"].get<double>() << "s)\n";
    }
    if (j.contains("packets"))
      std::cout << "  packets egress " << j["packets"]["egress"].get<uint64_t>() << ", ingress "
                << j["packets"]["ingress"].get<uint64_t>() << "\n";
    if (j.contains("injections")) {
      for (const auto& [name, v] : j["injections"].items()) {
        uint64_t l = v["live"], s = v["shadow"], f = v.value("failed", uint64_t{0});
        if (l || s || f)
          std::cout << "  " << name << ": live " << l << ", shadow " << s
                    << (f ? ", failed " + std::to_string(f) : "") << "\n";
      }
    }
  }
  return 0;
}

int RollbackCommand() {
  const RollbackOutcome o = RollbackHost();
  if (o.detach_error) {
    LogError(o.detach_error->message());
    for (const auto& m : o.done) std::cout << "  " << m << "\n";
    return 1;
  }
  for (const auto& m : o.done) std::cout << "  " << m << "\n";
  std::cout << RollbackSummary(o) << "\n";
  if (o.still_running)
    Logf("controller pid %d still running after its links were detached", o.still_running);
  // A damaged record is said with its path, and the file left for the operator; what rollback
  // found without it is in the lines above, and what it could not undo below.
  for (const auto& d : o.damaged)
    Logf(
        "damaged record %s: %s; what it described was looked for by name and mark instead "
        "(above); remove the file once checked",
        d.path.c_str(), d.why.c_str());
  for (const auto& m : o.left) Logf("not undone: %s", m.c_str());
  return o.damaged.empty() && o.left.empty() ? 0 : 1;
}

}  // namespace mmchaos
