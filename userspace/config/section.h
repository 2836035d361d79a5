// Each chaos.yaml section described once: a table of its keys, each row the key's name, how it
// is read into the section's struct and how the effective config shows it. The known-key check
// (unknown keys are errors), the parser and DumpConfig all walk the same rows, so a key cannot
// be parsed and not dumped, or dumped and not accepted back. A new key is one row.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/schema.h"

namespace mmchaos {

// Bounds on what a config may hold, whatever its size on disk (aliases repeat nodes for free).
inline constexpr size_t kMaxInterfaces = 32;
inline constexpr size_t kMaxDnsPorts = 16;
inline constexpr size_t kMaxExchanges = 64;
inline constexpr size_t kMaxListItems = 64;  // URLs per list, order requests, rollback triggers
// The kernel draws against p * 2^32 (ProbabilityThreshold): anything below is 0.
inline constexpr double kSmallestProbability = 0x1p-32;

// The reader of one document, with what the sections share while it is read.
class SectionReader : public Reader {
 public:
  SectionReader(std::string source, const HostProbe& host)
      : Reader(std::move(source)), host(host) {}

  const HostProbe& host;                       // target.cgroup's root check
  std::optional<YAML::Mark> netem_limit_mark;  // where netem.limit was set, if it was
};

// One key of a section whose struct is S. P is what the parse step fills: S itself, or a
// parse-time view of it that also collects cross-key facts (netem's "needs jitter").
template <typename S, typename P = S>
struct Key {
  const char* name;
  void (*parse)(SectionReader& r, const Field& f, P& into);
  void (*dump)(YAML::Emitter& e, const S& from);  // emits the value only
};

template <typename S, typename P, size_t N>
std::vector<std::string_view> KeyNames(const Key<S, P> (&keys)[N]) {
  std::vector<std::string_view> names;
  for (const Key<S, P>& key : keys) names.emplace_back(key.name);
  return names;
}

// Reads the map at `where` (null = all defaults), key by key in the file's order; a key not in
// `keys` is an error listing them.
template <typename S, typename P, size_t N>
void ParseKeys(SectionReader& r, const YAML::Node& map, const std::string& where,
               const Key<S, P> (&keys)[N], P& into) {
  const std::vector<std::string_view> names = KeyNames(keys);
  Reader::ForEachKey(map, where, names, [&](const Field& f) {
    const std::string& key = f.k.Scalar();
    auto row = std::find_if(std::begin(keys), std::end(keys),
                            [&](const Key<S, P>& k) { return key == k.name; });
    row->parse(r, f, into);  // ForEachKey let only known keys through
  });
}

// The section as a block map, every key in the table's order.
template <typename S, typename P, size_t N>
void DumpKeys(YAML::Emitter& e, const Key<S, P> (&keys)[N], const S& from) {
  e << YAML::BeginMap;
  for (const Key<S, P>& key : keys) {
    e << YAML::Key << key.name << YAML::Value;
    key.dump(e, from);
  }
  e << YAML::EndMap;
}

// Value emitters the tables share: YAML as DumpConfig has always written it.
inline void EmitBool(YAML::Emitter& e, bool b) { e << (b ? "true" : "false"); }
inline void EmitInt(YAML::Emitter& e, int i) { e << std::to_string(i); }
inline void EmitNumber(YAML::Emitter& e, double d) { e << FormatDouble(d); }
inline void EmitQuoted(YAML::Emitter& e, const std::string& s) { e << YAML::DoubleQuoted << s; }
inline void EmitQuotedList(YAML::Emitter& e, const std::vector<std::string>& items) {
  e << YAML::Flow << YAML::BeginSeq;
  for (const std::string& s : items) EmitQuoted(e, s);
  e << YAML::EndSeq;
}

// The sections (config/sections.cpp, config/target_section.cpp, config/triggers_section.cpp):
// each reads its value node into its part of the config, and dumps that part.
void ParseChaos(SectionReader& r, const YAML::Node& map, ChaosSection& c);
void DumpChaos(YAML::Emitter& e, const ChaosSection& c);
void ParseNetem(SectionReader& r, const YAML::Node& map, NetemSection& n);
void DumpNetem(YAML::Emitter& e, const NetemSection& n);
void ParseFaults(SectionReader& r, const YAML::Node& map, FaultsSection& f);
void DumpFaults(YAML::Emitter& e, const FaultsSection& f);
void ParseMetrics(SectionReader& r, const YAML::Node& map, MetricsSection& m);
void DumpMetrics(YAML::Emitter& e, const MetricsSection& m);
void ParseLog(SectionReader& r, const YAML::Node& map, LogSection& l);
void DumpLog(YAML::Emitter& e, const LogSection& l);
void ParseAcceptance(SectionReader& r, const YAML::Node& map, AcceptanceSection& a);
void DumpAcceptance(YAML::Emitter& e, const AcceptanceSection& a);
void ParseExperiment(SectionReader& r, const YAML::Node& map, ExperimentSection& x);
void DumpExperiment(YAML::Emitter& e, const ExperimentSection& x);
void ParseFleet(SectionReader& r, const YAML::Node& map, FleetSection& f);
void DumpFleet(YAML::Emitter& e, const FleetSection& f);
void ParseTarget(SectionReader& r, const YAML::Node& map, Target& t);
void DumpTarget(YAML::Emitter& e, const Target& t);
void ParseTriggers(SectionReader& r, const YAML::Node& list, std::vector<RollbackTrigger>& out);
void DumpTriggers(YAML::Emitter& e, const std::vector<RollbackTrigger>& triggers);

}  // namespace mmchaos
