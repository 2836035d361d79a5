// chaos.yaml's `rollback_triggers:` list: each item a stop condition with the same keys.
#include <string>
#include <utility>
#include <vector>

#include "config/section.h"

namespace mmchaos {
namespace {

// A trigger while it is read: metric, op and value are required.
struct TriggerParse {
  RollbackTrigger& t;
  bool has_metric = false, has_op = false, has_value = false;
};

void ParseMetric(SectionReader& r, const Field& f, TriggerParse& p) {
  p.t.metric = r.String(f);
  p.has_metric = true;
  bool known = p.t.metric.rfind("engine:", 0) == 0 && p.t.metric.size() > 7;
  for (const char* m : kTriggerMetrics) known = known || p.t.metric == m;
  if (!known) {
    std::string list;
    for (const char* m : kTriggerMetrics) list += std::string(m) + ", ";
    Throw(f.value_mark(), f.name + ": unknown metric " + Shown(p.t.metric) + " (known: " + list +
                              "or engine:<metric name> for the engine's own "
                              "counter at target.metrics_url)");
  }
}

void ParseOp(SectionReader& r, const Field& f, TriggerParse& p) {
  p.t.op = r.String(f);
  p.has_op = true;
  if (p.t.op != ">" && p.t.op != ">=" && p.t.op != "<" && p.t.op != "<=")
    Throw(f.value_mark(), f.name + ": expected >, >=, < or <=, got " + Shown(p.t.op));
}

using TriggerKey = Key<RollbackTrigger, TriggerParse>;
constexpr TriggerKey kTriggerKeys[] = {
    {"name", [](SectionReader& r, const Field& f, TriggerParse& p) { p.t.name = r.String(f); },
     [](YAML::Emitter& e, const RollbackTrigger& t) { EmitQuoted(e, t.name); }},
    {"metric", ParseMetric,
     [](YAML::Emitter& e, const RollbackTrigger& t) { EmitQuoted(e, t.metric); }},
    {"op", ParseOp, [](YAML::Emitter& e, const RollbackTrigger& t) { EmitQuoted(e, t.op); }},
    {"value",
     [](SectionReader& r, const Field& f, TriggerParse& p) {
       p.t.value = r.Number(f, -1e18, 1e18);
       p.has_value = true;
     },
     [](YAML::Emitter& e, const RollbackTrigger& t) { EmitNumber(e, t.value); }},
    {"for_ticks",
     [](SectionReader& r, const Field& f, TriggerParse& p) {
       p.t.for_ticks = r.Integer(f, 1, 1000000);
     },
     [](YAML::Emitter& e, const RollbackTrigger& t) { EmitInt(e, t.for_ticks); }},
    {"window_ticks",
     [](SectionReader& r, const Field& f, TriggerParse& p) {
       p.t.window_ticks = r.Integer(f, 1, 1000000);
     },
     [](YAML::Emitter& e, const RollbackTrigger& t) { EmitInt(e, t.window_ticks); }},
};

}  // namespace

void ParseTriggers(SectionReader& r, const YAML::Node& list, std::vector<RollbackTrigger>& out) {
  const std::string w = "rollback_triggers";
  if (list.IsNull()) return;
  if (!list.IsSequence())
    Throw(list.Mark(), w + ": expected a list of conditions, got " + Got(list));
  if (list.size() > kMaxListItems)
    Throw(list.Mark(), w + ": " + std::to_string(list.size()) + " conditions, at most " +
                           std::to_string(kMaxListItems));
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string where = w + "[" + std::to_string(i) + "]";
    RollbackTrigger t;
    TriggerParse p{t};
    ParseKeys(r, item, where, kTriggerKeys, p);
    if (!p.has_metric || !p.has_op || !p.has_value)
      Throw(item.Mark(), where +
                             ": needs metric, op and value (e.g. {metric: deadline_miss_pct, "
                             "op: \">\", value: 5, for_ticks: 3})");
    if (t.name.empty()) {
      t.name = t.metric + " " + t.op + " " + FormatDouble(t.value);
      if (t.for_ticks > 1) t.name += " for " + std::to_string(t.for_ticks) + " ticks";
    }
    for (const RollbackTrigger& o : out)
      if (o.name == t.name) Throw(item.Mark(), where + ": duplicate trigger name " + Shown(t.name));
    out.push_back(std::move(t));
  }
}

void DumpTriggers(YAML::Emitter& e, const std::vector<RollbackTrigger>& triggers) {
  if (triggers.empty()) e << YAML::Flow;
  e << YAML::BeginSeq;
  for (const RollbackTrigger& t : triggers) DumpKeys(e, kTriggerKeys, t);
  e << YAML::EndSeq;
}

}  // namespace mmchaos
