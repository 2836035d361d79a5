// Run files: JSON -> ExperimentRun, with errors that name the key and the file.
#include "report/run.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <tuple>

namespace mmchaos {
namespace {

using nlohmann::json;

std::string TypeName(const json& j) {
  if (j.is_number()) return "number";
  return j.type_name();
}

std::unexpected<Error> Bad(const std::string& where, const std::string& what) {
  return Fail(where + ": " + what);
}

std::string Key(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Object member access. `required`: absent is an error; otherwise absent leaves `out` as is.
Result<bool> GetBool(const json& obj, const std::string& parent, const char* key, bool required,
                     bool& out) {
  std::string where = Key(parent, key);
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return Bad(where, "missing");
    return false;
  }
  if (!it->is_boolean()) return Bad(where, "expected a boolean, got " + TypeName(*it));
  out = it->get<bool>();
  return true;
}

Result<int64_t> AsCount(const json& v, const std::string& where) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return Bad(where, "too large");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < 0) return Bad(where, "must be >= 0, got " + std::to_string(i));
    return i;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && d >= 0 && d < 9.2e18)
      return static_cast<int64_t>(d);
    return Bad(where, "expected a non-negative integer, got " + v.dump());
  }
  return Bad(where, "expected a non-negative integer, got " + TypeName(v));
}

Result<bool> GetCount(const json& obj, const std::string& parent, const char* key, bool required,
                      int64_t& out) {
  std::string where = Key(parent, key);
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return Bad(where, "missing");
    return false;
  }
  Result<int64_t> v = AsCount(*it, where);
  if (!v) return std::unexpected(v.error());
  out = *v;
  return true;
}

Result<double> AsNumber(const json& v, const std::string& where, bool non_negative) {
  if (!v.is_number()) return Bad(where, "expected a number, got " + TypeName(v));
  double d = v.get<double>();
  if (!std::isfinite(d)) return Bad(where, "not finite");
  if (non_negative && d < 0) return Bad(where, "must be >= 0, got " + v.dump());
  return d;
}

Result<bool> GetNumber(const json& obj, const std::string& parent, const char* key,
                       bool non_negative, double& out) {
  std::string where = Key(parent, key);
  auto it = obj.find(key);
  if (it == obj.end()) return false;
  Result<double> v = AsNumber(*it, where, non_negative);
  if (!v) return std::unexpected(v.error());
  out = *v;
  return true;
}

// An optional object member; nullptr when absent.
Result<const json*> GetObject(const json& obj, const std::string& parent, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return nullptr;
  if (!it->is_object()) return Bad(Key(parent, key), "expected an object, got " + TypeName(*it));
  return &*it;
}

Result<const json*> GetArray(const json& obj, const std::string& parent, const char* key,
                             bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return Bad(Key(parent, key), "missing");
    return nullptr;
  }
  if (!it->is_array()) return Bad(Key(parent, key), "expected an array, got " + TypeName(*it));
  return &*it;
}

#define MMC_TRY(expr)                                  \
  do {                                                 \
    auto mmc_r = (expr);                               \
    if (!mmc_r) return std::unexpected(mmc_r.error()); \
  } while (0)

Result<Acceptance> ParseAcceptance(const json& root) {
  Acceptance a;
  Result<const json*> obj = GetObject(root, "", "acceptance");
  if (!obj) return std::unexpected(obj.error());
  if (*obj == nullptr) return a;
  const json& j = **obj;
  const std::string p = "acceptance";
  MMC_TRY(GetNumber(j, p, "p95_regression_max", true, a.p95_regression_max));
  MMC_TRY(GetNumber(j, p, "deadline_miss_max", true, a.deadline_miss_max));
  if (a.deadline_miss_max > 1)
    return Bad(p + ".deadline_miss_max", "is a share (0..1), got " + j["deadline_miss_max"].dump());
  MMC_TRY(GetCount(j, p, "recovery_ticks_max", false, a.recovery_ticks_max));
  MMC_TRY(GetNumber(j, p, "p99_max_ms_under_lat_spike", true, a.p99_max_ms_under_lat_spike));
  MMC_TRY(GetBool(j, p, "discrepancies_all_detected", false, a.discrepancies_all_detected));
  return a;
}

Result<RunTick> ParseTick(const json& j, const std::string& where) {
  if (!j.is_object()) return Bad(where, "expected an object, got " + TypeName(j));
  RunTick t;
  MMC_TRY(GetCount(j, where, "tick", true, t.tick));
  auto ph = j.find("phase");
  if (ph == j.end()) return Bad(where + ".phase", "missing");
  if (!ph->is_string()) return Bad(where + ".phase", "expected a string, got " + TypeName(*ph));
  const std::string& name = ph->get_ref<const std::string&>();
  if (name == "baseline") {
    t.phase = Phase::kBaseline;
  } else if (name == "chaos") {
    t.phase = Phase::kChaos;
  } else if (name == "recovery") {
    t.phase = Phase::kRecovery;
  } else {
    return Bad(where + ".phase", "expected baseline, chaos or recovery, got \"" + name + "\"");
  }
  MMC_TRY(GetBool(j, where, "burst_on", false, t.burst_on));
  Result<const json*> lat = GetArray(j, where, "latency_ms", true);
  if (!lat) return std::unexpected(lat.error());
  t.latency_ms.reserve((*lat)->size());
  for (size_t i = 0; i < (*lat)->size(); ++i) {
    Result<double> v = AsNumber((**lat)[i], where + ".latency_ms[" + std::to_string(i) + "]", true);
    if (!v) return std::unexpected(v.error());
    t.latency_ms.push_back(*v);
  }
  MMC_TRY(GetCount(j, where, "deadline_misses", true, t.deadline_misses));
  MMC_TRY(GetCount(j, where, "requests", true, t.requests));
  if (t.deadline_misses > t.requests)
    return Bad(where, "deadline_misses (" + std::to_string(t.deadline_misses) + ") > requests (" +
                          std::to_string(t.requests) + ")");
  return t;
}

bool ValidScenario(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kBaseline:
      return "baseline";
    case Phase::kChaos:
      return "chaos";
    case Phase::kRecovery:
      return "recovery";
  }
  return "?";
}

Result<ExperimentRun> ParseRun(const json& j) {
  if (!j.is_object()) return Fail("expected a JSON object at the top, got " + TypeName(j));
  ExperimentRun r;
  auto sc = j.find("scenario");
  if (sc == j.end()) return Bad("scenario", "missing");
  if (!sc->is_string()) return Bad("scenario", "expected a string, got " + TypeName(*sc));
  r.scenario = sc->get<std::string>();
  if (!ValidScenario(r.scenario))
    return Bad("scenario", "expected [a-z0-9_]+, got \"" + r.scenario + "\"");
  MMC_TRY(GetNumber(j, "", "intensity", false, r.intensity));
  MMC_TRY(GetCount(j, "", "started_unix", false, r.started_unix));
  MMC_TRY(GetCount(j, "", "tick_ms", false, r.tick_ms));
  MMC_TRY(GetBool(j, "", "dry_run", false, r.dry_run));
  Result<Acceptance> acc = ParseAcceptance(j);
  if (!acc) return std::unexpected(acc.error());
  r.acceptance = *acc;

  Result<const json*> ticks = GetArray(j, "", "ticks", true);
  if (!ticks) return std::unexpected(ticks.error());
  for (size_t i = 0; i < (*ticks)->size(); ++i) {
    std::string where = "ticks[" + std::to_string(i) + "]";
    Result<RunTick> t = ParseTick((**ticks)[i], where);
    if (!t) return std::unexpected(t.error());
    if (!r.ticks.empty() && t->tick <= r.ticks.back().tick)
      return Bad(where + ".tick", "ticks must be strictly increasing (" + std::to_string(t->tick) +
                                      " after " + std::to_string(r.ticks.back().tick) + ")");
    r.ticks.push_back(std::move(*t));
  }

  Result<const json*> bursts = GetArray(j, "", "bursts", true);
  if (!bursts) return std::unexpected(bursts.error());
  for (size_t i = 0; i < (*bursts)->size(); ++i) {
    std::string where = "bursts[" + std::to_string(i) + "]";
    const json& b = (**bursts)[i];
    if (!b.is_object()) return Bad(where, "expected an object, got " + TypeName(b));
    RunBurst rb;
    rb.index = static_cast<int64_t>(i);
    MMC_TRY(GetCount(b, where, "index", false, rb.index));
    MMC_TRY(GetCount(b, where, "start_tick", true, rb.start_tick));
    MMC_TRY(GetCount(b, where, "end_tick", true, rb.end_tick));
    if (rb.end_tick < rb.start_tick)
      return Bad(where, "end_tick (" + std::to_string(rb.end_tick) + ") < start_tick (" +
                            std::to_string(rb.start_tick) + ")");
    if (!r.bursts.empty() && rb.start_tick <= r.bursts.back().end_tick)
      return Bad(where, "bursts must be in order and not overlap (start_tick " +
                            std::to_string(rb.start_tick) + " <= previous end_tick " +
                            std::to_string(r.bursts.back().end_tick) + ")");
    r.bursts.push_back(rb);
  }

  Result<const json*> inj = GetObject(j, "", "injections");
  if (!inj) return std::unexpected(inj.error());
  if (*inj) {
    MMC_TRY(GetCount(**inj, "injections", "live", false, r.injections_live));
    MMC_TRY(GetCount(**inj, "injections", "shadow", false, r.injections_shadow));
  }
  Result<const json*> rec = GetObject(j, "", "reconnects");
  if (!rec) return std::unexpected(rec.error());
  if (*rec) {
    MMC_TRY(GetCount(**rec, "reconnects", "rest", false, r.reconnects_rest));
    MMC_TRY(GetCount(**rec, "reconnects", "ws", false, r.reconnects_ws));
  }
  Result<const json*> gaps = GetObject(j, "", "ws_gaps");
  if (!gaps) return std::unexpected(gaps.error());
  if (*gaps) {
    MMC_TRY(GetCount(**gaps, "ws_gaps", "count", false, r.ws_gaps_count));
    MMC_TRY(GetNumber(**gaps, "ws_gaps", "p99_ms", true, r.ws_gaps_p99_ms));
  }
  Result<const json*> disc = GetObject(j, "", "discrepancies");
  if (!disc) return std::unexpected(disc.error());
  if (*disc) {
    MMC_TRY(GetCount(**disc, "discrepancies", "created", false, r.discrepancies_created));
    MMC_TRY(GetCount(**disc, "discrepancies", "detected", false, r.discrepancies_detected));
  }
  Result<const json*> rbs = GetArray(j, "", "rollbacks", false);
  if (!rbs) return std::unexpected(rbs.error());
  if (*rbs) {
    for (size_t i = 0; i < (*rbs)->size(); ++i) {
      std::string where = "rollbacks[" + std::to_string(i) + "]";
      const json& b = (**rbs)[i];
      if (!b.is_object()) return Bad(where, "expected an object, got " + TypeName(b));
      RunRollback rb;
      MMC_TRY(GetCount(b, where, "tick", true, rb.tick));
      auto tr = b.find("trigger");
      if (tr != b.end()) {
        if (!tr->is_string())
          return Bad(where + ".trigger", "expected a string, got " + TypeName(*tr));
        rb.trigger = tr->get<std::string>();
      }
      r.rollbacks.push_back(std::move(rb));
    }
  }
  Result<const json*> eps = GetArray(j, "", "endpoints", false);
  if (!eps) return std::unexpected(eps.error());
  if (*eps) {
    for (size_t i = 0; i < (*eps)->size(); ++i) {
      const json& e = (**eps)[i];
      if (!e.is_string())
        return Bad("endpoints[" + std::to_string(i) + "]", "expected a string, got " + TypeName(e));
      r.endpoints.push_back(e.get<std::string>());
    }
  }
  return r;
}

Result<ExperimentRun> LoadRun(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(path + ": cannot open", errno);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Fail(path + ": read failed", errno);
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::exception& e) {
    return Fail(path + ": malformed JSON: " + e.what());
  }
  Result<ExperimentRun> r = ParseRun(j);
  if (!r) return Fail(path + ": " + r.error().call);
  r->source = std::filesystem::path(path).filename().string();
  return r;
}

Result<std::vector<ExperimentRun>> LoadRuns(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found)
    return Fail(dir, ENOENT, "--runs names the directory `mmchaos experiment` wrote into");
  if (ec) return Fail(dir, ec.value());
  if (!fs::is_directory(st)) return Fail(dir + ": not a directory");
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (name.empty() || name[0] == '.' || p.extension() != ".json") continue;
    std::error_code ec2;
    if (it->is_directory(ec2)) continue;
    files.push_back(p.string());
  }
  if (ec) return Fail(dir + ": cannot list", ec.value());
  if (files.empty())
    return Fail(dir + ": no run files (*.json)", 0, "run `mmchaos experiment` first");
  std::sort(files.begin(), files.end());
  std::vector<ExperimentRun> runs;
  for (const std::string& f : files) {
    Result<ExperimentRun> r = LoadRun(f);
    if (!r) return std::unexpected(r.error());
    runs.push_back(std::move(*r));
  }
  std::stable_sort(runs.begin(), runs.end(), [](const ExperimentRun& a, const ExperimentRun& b) {
    return std::tie(a.scenario, a.started_unix, a.source) <
           std::tie(b.scenario, b.started_unix, b.source);
  });
  return runs;
}

json RunJson(const ExperimentRun& r) {
  json j;
  j["scenario"] = r.scenario;
  j["intensity"] = r.intensity;
  j["started_unix"] = r.started_unix;
  j["tick_ms"] = r.tick_ms;
  j["dry_run"] = r.dry_run;
  const Acceptance& a = r.acceptance;
  j["acceptance"] = {{"p95_regression_max", a.p95_regression_max},
                     {"deadline_miss_max", a.deadline_miss_max},
                     {"recovery_ticks_max", a.recovery_ticks_max},
                     {"p99_max_ms_under_lat_spike", a.p99_max_ms_under_lat_spike},
                     {"discrepancies_all_detected", a.discrepancies_all_detected}};
  json ticks = json::array();
  for (const RunTick& t : r.ticks) {
    ticks.push_back({{"tick", t.tick},
                     {"phase", PhaseName(t.phase)},
                     {"burst_on", t.burst_on},
                     {"latency_ms", t.latency_ms},
                     {"deadline_misses", t.deadline_misses},
                     {"requests", t.requests}});
  }
  j["ticks"] = std::move(ticks);
  json bursts = json::array();
  for (const RunBurst& b : r.bursts)
    bursts.push_back({{"index", b.index}, {"start_tick", b.start_tick}, {"end_tick", b.end_tick}});
  j["bursts"] = std::move(bursts);
  j["injections"] = {{"live", r.injections_live}, {"shadow", r.injections_shadow}};
  j["reconnects"] = {{"rest", r.reconnects_rest}, {"ws", r.reconnects_ws}};
  j["ws_gaps"] = {{"count", r.ws_gaps_count}, {"p99_ms", r.ws_gaps_p99_ms}};
  j["discrepancies"] = {{"created", r.discrepancies_created},
                        {"detected", r.discrepancies_detected}};
  json rbs = json::array();
  for (const RunRollback& b : r.rollbacks)
    rbs.push_back({{"tick", b.tick}, {"trigger", b.trigger}});
  j["rollbacks"] = std::move(rbs);
  if (!r.endpoints.empty()) j["endpoints"] = r.endpoints;
  return j;
}

}  // namespace mmchaos
