// chaos.yaml: the document's sections (each described once, config/section.h), the checks that
// span sections, and the entry points: ParseConfig, LoadConfig, DumpConfig.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "cgroup/mounts.h"
#include "common/safe_file.h"
#include "config/section.h"
#include "config/yaml_guard.h"

namespace mmchaos {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

// A top-level section: its key, where it is listed in the "known:" of an unknown top-level key
// (the order messages have always used), how it is read and how it is dumped.
struct Section {
  const char* name;
  int listed;
  void (*parse)(SectionReader& r, const YAML::Node& v, Config& cfg);
  void (*dump)(YAML::Emitter& e, const Config& cfg);
};

// In DumpConfig's order.
constexpr Section kSections[] = {
    {"chaos", 0,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseChaos(r, v, c.chaos); },
     [](YAML::Emitter& e, const Config& c) { DumpChaos(e, c.chaos); }},
    {"netem", 1,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseNetem(r, v, c.netem); },
     [](YAML::Emitter& e, const Config& c) { DumpNetem(e, c.netem); }},
    {"target", 2,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseTarget(r, v, c.target); },
     [](YAML::Emitter& e, const Config& c) { DumpTarget(e, c.target); }},
    {"faults", 3,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseFaults(r, v, c.faults); },
     [](YAML::Emitter& e, const Config& c) { DumpFaults(e, c.faults); }},
    {"metrics", 4,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseMetrics(r, v, c.metrics); },
     [](YAML::Emitter& e, const Config& c) { DumpMetrics(e, c.metrics); }},
    {"log", 5, [](SectionReader& r, const YAML::Node& v, Config& c) { ParseLog(r, v, c.log); },
     [](YAML::Emitter& e, const Config& c) { DumpLog(e, c.log); }},
    {"acceptance", 6,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseAcceptance(r, v, c.acceptance); },
     [](YAML::Emitter& e, const Config& c) { DumpAcceptance(e, c.acceptance); }},
    {"rollback_triggers", 7,
     [](SectionReader& r, const YAML::Node& v, Config& c) {
       ParseTriggers(r, v, c.rollback_triggers);
     },
     [](YAML::Emitter& e, const Config& c) { DumpTriggers(e, c.rollback_triggers); }},
    {"fleet", 9,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseFleet(r, v, c.fleet); },
     [](YAML::Emitter& e, const Config& c) { DumpFleet(e, c.fleet); }},
    {"experiment", 8,
     [](SectionReader& r, const YAML::Node& v, Config& c) { ParseExperiment(r, v, c.experiment); },
     [](YAML::Emitter& e, const Config& c) { DumpExperiment(e, c.experiment); }},
};

std::vector<std::string_view> ListedSectionNames() {
  std::vector<std::string_view> names(std::size(kSections));
  for (const Section& s : kSections) names.at(static_cast<size_t>(s.listed)) = s.name;
  return names;
}

// An explicit netem.limit below what netem holds at expected_pps for the configured delays
// would drop packets silently: say so.
void CheckNetemLimit(SectionReader& r, const Config& cfg) {
  const NetemSection& n = cfg.netem;
  int delay_ms = std::max(cfg.chaos.lat_spike_ms, cfg.chaos.ws_lag_ms);
  if (!r.netem_limit_mark || n.limit == 0 || delay_ms == 0) return;
  auto held = static_cast<int64_t>(
      std::ceil(static_cast<double>(n.expected_pps) * (delay_ms + n.jitter_ms) / 1000.0));
  if (n.limit < held) {
    r.Warn(*r.netem_limit_mark,
           "netem.limit " + std::to_string(n.limit) + " is below the " + std::to_string(held) +
               " packets netem holds at netem.expected_pps " + std::to_string(n.expected_pps) +
               " with a " + std::to_string(delay_ms + n.jitter_ms) +
               " ms delay: packets over the limit are dropped silently (0 = size "
               "it from expected_pps)");
  }
}

Config Parse(const YAML::Node& root, const std::string& source, const HostProbe& host) {
  SectionReader r(source, host);
  Config cfg;
  cfg.source = source;
  static const std::vector<std::string_view> listed = ListedSectionNames();
  Reader::ForEachKey(root, "", listed, [&](const Field& f) {
    const std::string& key = f.k.Scalar();
    for (const Section& s : kSections)
      if (key == s.name) s.parse(r, f.v, cfg);
  });
  CheckNetemLimit(r, cfg);
  cfg.warnings = r.TakeWarnings();
  return cfg;
}

}  // namespace

std::string LogPathProblem(const std::string& path) {
  if (path == "-") return {};
  if (path.empty() || path.front() != '/')
    return "expected a file path: an absolute path to a *.jsonl or *.log file, or \"-\" (stderr)";
  std::string_view p = path;
  if (p.find("/../") != std::string_view::npos || p.find("/./") != std::string_view::npos ||
      p.find("//") != std::string_view::npos)
    return "write the path without '.', '..' or '//' components";
  std::string_view base = p.substr(p.rfind('/') + 1);
  if (!(base.ends_with(".jsonl") || base.ends_with(".log")) || base.starts_with("."))
    return "the log's file name must end in .jsonl or .log (mmchaos appends to it as root)";
  for (std::string_view tree : {"/proc", "/sys", "/dev", "/boot", "/etc", "/usr", "/bin", "/sbin",
                                "/lib", "/lib32", "/lib64", "/libx32"}) {
    if (p.starts_with(tree) && p.size() > tree.size() && p[tree.size()] == '/')
      return std::string(tree) + " is no place for a log (kernel or system files)";
  }
  return {};
}

const char* MemPressureName(MemPressure m) {
  switch (m) {
    case MemPressure::kNone:
      return "none";
    case MemPressure::kLow:
      return "low";
    case MemPressure::kMedium:
      return "medium";
    case MemPressure::kHigh:
      return "high";
  }
  return "none";
}

const char* NetemDistributionName(NetemDistribution d) {
  switch (d) {
    case NetemDistribution::kUniform:
      return "uniform";
    case NetemDistribution::kNormal:
      return "normal";
    case NetemDistribution::kPareto:
      return "pareto";
    case NetemDistribution::kParetoNormal:
      return "paretonormal";
  }
  return "uniform";
}

uint32_t NetemLimit(const NetemSection& n, int delay_ms) {
  if (n.limit > 0) return static_cast<uint32_t>(n.limit);
  // In integers: ceil(pps * hold_ms / 1000 * 2) without floating-point noise. The largest
  // inputs (1e7 pps, 30000 ms) give 6e11, well within int64_t.
  int64_t hold_ms = int64_t{std::max(delay_ms, 0)} + 2 * int64_t{std::max(n.jitter_ms, 0)};
  int64_t want = (int64_t{std::max(n.expected_pps, 1)} * hold_ms * 2 + 999) / 1000;
  return static_cast<uint32_t>(
      std::clamp<int64_t>(want, 1000, std::numeric_limits<uint32_t>::max()));
}

Result<Config> ParseConfig(const std::string& text, const std::string& source,
                           const HostProbe& host) {
  // Nothing may escape: a SIGHUP reload runs this inside a controller that must keep running.
  try {
    if (std::string bad = CheckYamlShape(text); !bad.empty()) return Fail(source + ":" + bad);
    // One document (the shape check made sure there is no other): yaml-cpp 0.7's LoadAll never
    // returns on some inputs.
    YAML::Node root = YAML::Load(text);
    return Parse(root, source, host);
  } catch (const ConfigError& e) {
    return Fail(Where(source, e.mark, true) + ": " + e.what);
  } catch (const YAML::ParserException& e) {
    return Fail(Where(source, e.mark, true) + ": malformed YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return Fail(Where(source, e.mark, true) + ": " + e.msg);
  } catch (const std::bad_alloc&) {
    return Fail(source + ": out of memory while parsing", ENOMEM);
  } catch (const std::exception& e) {
    return Fail(source + ": cannot parse: " + e.what());
  }
}

Result<Config> ParseConfig(const std::string& text, const std::string& source) {
  return ParseConfig(text, source, HostProbe{IsRootCgroup});
}

Result<Config> LoadConfig(const std::string& path) {
  try {
    auto text = ReadRegularFile(path, kMaxConfigBytes);
    if (!text) {
      Error e = text.error();
      if (e.err == ENOENT)
        e.hint = "pass the config with -c FILE; the repo's chaos.yaml is a template";
      if (e.hint.empty()) e.hint = "a config is a YAML file of at most 1 MiB";
      return std::unexpected(e);
    }
    return ParseConfig(*text, path);
  } catch (const std::bad_alloc&) {
    return Fail("read(" + path + "): out of memory", ENOMEM);
  }
}

std::string DumpConfig(const Config& cfg) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  for (const Section& s : kSections) {
    e << YAML::Key << s.name << YAML::Value;
    s.dump(e, cfg);
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace mmchaos
