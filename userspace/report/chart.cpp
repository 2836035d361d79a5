// One run's chart as hand-written SVG: p95 latency per tick, bursts shaded.
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "report/report.h"

namespace mmchaos {
namespace {

constexpr double kWidth = 800, kHeight = 380;
constexpr double kLeft = 64, kRight = 776, kTop = 48, kBottom = 300;

std::string N(double v) { return FormatNumber(v, 1, true); }

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

// 1, 2 or 5 times a power of ten, >= raw.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return n * mag;
}

}  // namespace

std::string RenderChartSvg(const ExperimentRun& r) {
  Evaluation e = Evaluate(r);
  std::vector<std::optional<double>> p95;
  double ymax = 0;
  for (const RunTick& t : r.ticks) {
    p95.push_back(TickP95(t));
    if (p95.back()) ymax = std::max(ymax, *p95.back());
  }
  if (e.baseline.p95) ymax = std::max(ymax, *e.baseline.p95);
  if (e.recovery_bound_ms) ymax = std::max(ymax, *e.recovery_bound_ms);
  double ystep = NiceStep(ymax * 1.05 / 5);
  double ytop = std::max(ystep, std::ceil(ymax * 1.05 / ystep) * ystep);

  int64_t tmin = r.ticks.empty() ? 0 : r.ticks.front().tick;
  int64_t tmax = r.ticks.empty() ? 1 : r.ticks.back().tick;
  if (tmax <= tmin) tmax = tmin + 1;
  auto X = [&](double t) {
    return kLeft +
           (t - static_cast<double>(tmin)) / static_cast<double>(tmax - tmin) * (kRight - kLeft);
  };
  auto Y = [&](double v) { return kBottom - v / ytop * (kBottom - kTop); };

  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << N(kWidth) << "\" height=\""
    << N(kHeight) << "\" viewBox=\"0 0 " << N(kWidth) << " " << N(kHeight)
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  o << "<text x=\"" << N(kWidth / 2)
    << "\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" "
       "font-weight=\"bold\">"
    << Escape(r.scenario + " (intensity " + FormatNumber(r.intensity, 4, true) +
              (r.dry_run ? ", shadow" : "") + "): p95 latency per tick")
    << "</text>\n";

  // Bursts, under everything else.
  for (const RunBurst& b : r.bursts) {
    double x0 = std::clamp(X(static_cast<double>(b.start_tick) - 0.5), kLeft, kRight);
    double x1 = std::clamp(X(static_cast<double>(b.end_tick) + 0.5), kLeft, kRight);
    if (x1 <= x0) continue;
    o << "<rect x=\"" << N(x0) << "\" y=\"" << N(kTop) << "\" width=\"" << N(x1 - x0)
      << "\" height=\"" << N(kBottom - kTop) << "\" fill=\"#fbd5cf\"/>\n";
  }

  // Grid and y axis labels.
  auto ylines = static_cast<int>(std::lround(ytop / ystep));
  for (int k = 0; k <= ylines; ++k) {
    double v = k * ystep;
    double y = Y(v);
    o << "<line x1=\"" << N(kLeft) << "\" y1=\"" << N(y) << "\" x2=\"" << N(kRight) << "\" y2=\""
      << N(y) << "\" stroke=\"#e3e3e3\"/>\n";
    o << "<text x=\"" << N(kLeft - 6) << "\" y=\"" << N(y + 4) << "\" text-anchor=\"end\">"
      << FormatNumber(v, 3, true) << "</text>\n";
  }
  // x axis labels.
  auto xstep = static_cast<int64_t>(std::max(1.0, NiceStep(static_cast<double>(tmax - tmin) / 8)));
  for (int64_t t = (tmin + xstep - 1) / xstep * xstep; t <= tmax; t += xstep) {
    double x = X(static_cast<double>(t));
    o << "<line x1=\"" << N(x) << "\" y1=\"" << N(kBottom) << "\" x2=\"" << N(x) << "\" y2=\""
      << N(kBottom + 5) << "\" stroke=\"#333333\"/>\n";
    o << "<text x=\"" << N(x) << "\" y=\"" << N(kBottom + 19) << "\" text-anchor=\"middle\">" << t
      << "</text>\n";
  }
  o << "<line x1=\"" << N(kLeft) << "\" y1=\"" << N(kTop) << "\" x2=\"" << N(kLeft) << "\" y2=\""
    << N(kBottom) << "\" stroke=\"#333333\"/>\n";
  o << "<line x1=\"" << N(kLeft) << "\" y1=\"" << N(kBottom) << "\" x2=\"" << N(kRight)
    << "\" y2=\"" << N(kBottom) << "\" stroke=\"#333333\"/>\n";
  o << "<text x=\"" << N((kLeft + kRight) / 2) << "\" y=\"" << N(kBottom + 38)
    << "\" text-anchor=\"middle\">tick"
    << (r.tick_ms > 0 ? " (" + std::to_string(r.tick_ms) + " ms)" : "") << "</text>\n";
  o << "<text x=\"18\" y=\"" << N((kTop + kBottom) / 2)
    << "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " << N((kTop + kBottom) / 2)
    << ")\">p95 latency (ms)</text>\n";

  // Phases: a thin separator where one starts, its name above the plot.
  for (size_t i = 0; i < r.ticks.size(); ++i) {
    if (i > 0 && r.ticks[i].phase == r.ticks[i - 1].phase) continue;
    double x =
        i == 0 ? kLeft : std::clamp(X(static_cast<double>(r.ticks[i].tick) - 0.5), kLeft, kRight);
    if (i > 0)
      o << "<line x1=\"" << N(x) << "\" y1=\"" << N(kTop) << "\" x2=\"" << N(x) << "\" y2=\""
        << N(kBottom) << "\" stroke=\"#999999\" stroke-dasharray=\"1 3\"/>\n";
    o << "<text x=\"" << N(x + 4) << "\" y=\"" << N(kTop - 6)
      << "\" font-size=\"11\" fill=\"#555555\">" << PhaseName(r.ticks[i].phase) << "</text>\n";
  }

  // Reference lines.
  if (e.baseline.p95)
    o << "<line x1=\"" << N(kLeft) << "\" y1=\"" << N(Y(*e.baseline.p95)) << "\" x2=\"" << N(kRight)
      << "\" y2=\"" << N(Y(*e.baseline.p95))
      << "\" stroke=\"#777777\" stroke-dasharray=\"4 4\"/>\n";
  if (e.recovery_bound_ms)
    o << "<line x1=\"" << N(kLeft) << "\" y1=\"" << N(Y(*e.recovery_bound_ms)) << "\" x2=\""
      << N(kRight) << "\" y2=\"" << N(Y(*e.recovery_bound_ms))
      << "\" stroke=\"#e08a00\" stroke-dasharray=\"8 4\"/>\n";
  for (const RunRollback& rb : r.rollbacks) {
    if (rb.tick < tmin || rb.tick > tmax) continue;
    double x = X(static_cast<double>(rb.tick));
    o << "<line x1=\"" << N(x) << "\" y1=\"" << N(kTop) << "\" x2=\"" << N(x) << "\" y2=\""
      << N(kBottom) << "\" stroke=\"#8e44ad\" stroke-width=\"2\" stroke-dasharray=\"2 3\"/>\n";
  }

  // The latency line: one polyline per run of ticks with samples; lone points as dots.
  bool any = false;
  for (size_t i = 0; i < r.ticks.size();) {
    if (!p95[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    std::string pts;
    for (; j < r.ticks.size() && p95[j]; ++j) {
      if (!pts.empty()) pts += " ";
      pts += N(X(static_cast<double>(r.ticks[j].tick))) + "," + N(Y(*p95[j]));
    }
    any = true;
    if (j - i == 1)
      o << "<circle cx=\"" << N(X(static_cast<double>(r.ticks[i].tick))) << "\" cy=\""
        << N(Y(*p95[i])) << "\" r=\"2\" fill=\"#1f5fbf\"/>\n";
    else
      o << "<polyline points=\"" << pts
        << "\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.8\"/>\n";
    i = j;
  }
  for (size_t i = 0; i < r.ticks.size(); ++i) {
    if (r.ticks[i].deadline_misses == 0) continue;
    o << "<circle cx=\"" << N(X(static_cast<double>(r.ticks[i].tick))) << "\" cy=\""
      << N(Y(p95[i].value_or(0))) << "\" r=\"3.5\" fill=\"#d62728\"/>\n";
  }
  if (!any)
    o << "<text x=\"" << N((kLeft + kRight) / 2) << "\" y=\"" << N((kTop + kBottom) / 2)
      << "\" text-anchor=\"middle\" font-size=\"14\" fill=\"#777777\">no latency samples</text>\n";

  // Legend.
  double ly = kHeight - 14, lx = kLeft;
  auto legend = [&](const std::string& mark, const std::string& label, double width) {
    o << mark << "<text x=\"" << N(lx + 26) << "\" y=\"" << N(ly + 4) << "\">" << Escape(label)
      << "</text>\n";
    lx += width;
  };
  legend("<line x1=\"" + N(lx) + "\" y1=\"" + N(ly) + "\" x2=\"" + N(lx + 20) + "\" y2=\"" + N(ly) +
             "\" stroke=\"#1f5fbf\" stroke-width=\"1.8\"/>",
         "tick p95", 92);
  legend("<rect x=\"" + N(lx) + "\" y=\"" + N(ly - 6) + "\" width=\"20\" height=\"12\" " +
             "fill=\"#fbd5cf\"/>",
         "burst", 80);
  legend("<line x1=\"" + N(lx) + "\" y1=\"" + N(ly) + "\" x2=\"" + N(lx + 20) + "\" y2=\"" + N(ly) +
             "\" stroke=\"#777777\" stroke-dasharray=\"4 4\"/>",
         "baseline p95", 120);
  legend("<line x1=\"" + N(lx) + "\" y1=\"" + N(ly) + "\" x2=\"" + N(lx + 20) + "\" y2=\"" + N(ly) +
             "\" stroke=\"#e08a00\" stroke-dasharray=\"8 4\"/>",
         "recovery bound (+" + FormatNumber(r.acceptance.p95_regression_max * 100, 2, true) + "%)",
         190);
  legend("<circle cx=\"" + N(lx + 10) + "\" cy=\"" + N(ly) + "\" r=\"3.5\" fill=\"#d62728\"/>",
         "deadline miss", 120);
  legend("<line x1=\"" + N(lx) + "\" y1=\"" + N(ly) + "\" x2=\"" + N(lx + 20) + "\" y2=\"" + N(ly) +
             "\" stroke=\"#8e44ad\" stroke-width=\"2\" stroke-dasharray=\"2 3\"/>",
         "rollback", 90);
  o << "</svg>\n";
  return o.str();
}

}  // namespace mmchaos
