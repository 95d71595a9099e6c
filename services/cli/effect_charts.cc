#include "services/cli/effect_charts.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/cli/report_format.h"
#include "services/cli/svg_charts.h"

namespace fieldwork::cli {
namespace {

constexpr double kEffectWidth = 640;
constexpr char kExploratory[] = "exploratory (conditions on a post-treatment variable)";

// Forest plot: labels | intervals | numbers.
constexpr double kForestPlotLeft = 250;
constexpr double kForestPlotRight = 500;
constexpr double kForestTop = 60;  // first row's centre
constexpr double kForestRow = 24;

// Attenuation panel.
constexpr double kBinsLeft = 64;
constexpr double kBinsRight = 16;
constexpr double kBinsTop = 68;  // title, the exploratory label and the legend above
constexpr double kBinsPlotHeight = 200;
constexpr double kBinsHeight = kBinsTop + kBinsPlotHeight + 52;  // bin labels and n under

// The axis every interval fits on, 0 included (the line of no effect).
SvgAxis EffectAxis(const std::vector<double>& values) {
  double lo = 0;
  double hi = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return NiceAxis(lo, hi);
}

// A linear map from an axis to pixels [from, to] (to < from for a y axis).
struct PixelScale {
  SvgAxis axis;
  double from = 0;
  double to = 1;
  double operator()(double v) const {
    return from + (to - from) * (v - axis.lo) / (axis.hi - axis.lo);
  }
};

std::string EffectWithInterval(double estimate, double low, double high) {
  return absl::StrCat(FormatFixed(estimate, 2), " ", FormatInterval(low, high));
}

std::string ForestLabel(const ReportForestRow& row, bool name_analysis) {
  return absl::StrCat(name_analysis ? row.analysis + " · " : "", row.outcome,
                      row.primary ? " (primary)" : "", ": ", row.arm, " vs ", row.versus);
}

// An interval between two pixels along x (horizontal) or y (vertical), at `across` on the other.
std::string IntervalMark(bool horizontal, double a, double b, double across,
                         const std::string& colour) {
  if (!std::isfinite(a) || !std::isfinite(b)) return "";
  const std::string s_a = SvgNum(a), s_b = SvgNum(b), s_c = SvgNum(across);
  return horizontal ? absl::StrCat("<line class=\"ci\" x1=\"", s_a, "\" x2=\"", s_b, "\" y1=\"",
                                   s_c, "\" y2=\"", s_c, "\" stroke=\"", colour, "\"/>")
                    : absl::StrCat("<line class=\"ci\" x1=\"", s_c, "\" x2=\"", s_c, "\" y1=\"",
                                   s_a, "\" y2=\"", s_b, "\" stroke=\"", colour, "\"/>");
}

// The estimate's marker: a square centred on (x, y).
std::string EstimateMark(double x, double y, const std::string& colour, const std::string& title) {
  if (!std::isfinite(x) || !std::isfinite(y)) return "";
  return absl::StrCat("<rect class=\"point\" x=\"", SvgNum(x - 4), "\" y=\"", SvgNum(y - 4),
                      "\" width=\"8\" height=\"8\" fill=\"", colour, "\"><title>",
                      HtmlEscape(title), "</title></rect>");
}

}  // namespace

std::string RenderForestPlot(const std::vector<ReportForestRow>& rows, double confidence_percent) {
  std::vector<double> values;
  std::set<std::string> analyses;
  for (const ReportForestRow& row : rows) {
    values.insert(values.end(), {row.g.g, row.g.conf_low, row.g.conf_high});
    analyses.insert(row.analysis);
  }
  const bool name_analysis = analyses.size() > 1;
  const PixelScale x{EffectAxis(values), kForestPlotLeft, kForestPlotRight};
  const double axis_y = kForestTop + kForestRow * (static_cast<double>(rows.size()) - 0.5) + 4;
  const double height = axis_y + 44;
  const std::string ci = FormatFixed(confidence_percent, 0) + "% CI";
  const std::string title = "Standardised effects (Hedges' g) with " + ci;
  std::string out = OpenFigureSvg("figure-forest", title, kEffectWidth, height);
  absl::StrAppend(&out, "<text class=\"column-head\" x=\"8\" y=\"", SvgNum(kForestTop - 22),
                  "\">Outcome: comparison</text><text class=\"column-head\" x=\"",
                  SvgNum(kForestPlotRight + 12), "\" y=\"", SvgNum(kForestTop - 22), "\">g ",
                  HtmlEscape(ci), "</text>");
  // Ticks under the rows; a faint grid line through them at each tick.
  for (double v : AxisTicks(x.axis)) {
    absl::StrAppend(&out, "<line class=\"grid\" x1=\"", SvgNum(x(v)), "\" x2=\"", SvgNum(x(v)),
                    "\" y1=\"", SvgNum(kForestTop - kForestRow / 2), "\" y2=\"", SvgNum(axis_y),
                    "\"/><text class=\"tick\" x=\"", SvgNum(x(v)), "\" y=\"", SvgNum(axis_y + 16),
                    "\" text-anchor=\"middle\">", HtmlEscape(TickLabel(v, x.axis.step, false)),
                    "</text>");
  }
  absl::StrAppend(
      &out, "<line class=\"axis\" x1=\"", SvgNum(kForestPlotLeft), "\" x2=\"",
      SvgNum(kForestPlotRight), "\" y1=\"", SvgNum(axis_y), "\" y2=\"", SvgNum(axis_y),
      "\"/><text class=\"axis-label\" x=\"", SvgNum((kForestPlotLeft + kForestPlotRight) / 2),
      "\" y=\"", SvgNum(axis_y + 34), "\" text-anchor=\"middle\">Hedges&#39; g</text>",
      "<line class=\"zero-line\" x1=\"", SvgNum(x(0)), "\" x2=\"", SvgNum(x(0)), "\" y1=\"",
      SvgNum(kForestTop - kForestRow / 2), "\" y2=\"", SvgNum(axis_y), "\"/>");
  for (size_t i = 0; i < rows.size(); ++i) {
    const ReportForestRow& row = rows[i];
    const double y = kForestTop + kForestRow * static_cast<double>(i);
    const std::string label = ForestLabel(row, name_analysis);
    const std::string value = EffectWithInterval(row.g.g, row.g.conf_low, row.g.conf_high);
    absl::StrAppend(&out, "<g class=\"forest-row\"><text class=\"row-label\" x=\"8\" y=\"",
                    SvgNum(y + 4), "\">", HtmlEscape(label), "</text>",
                    IntervalMark(true, x(row.g.conf_low), x(row.g.conf_high), y, "#222"),
                    EstimateMark(x(row.g.g), y, SeriesColour(0), label + ": g " + value),
                    "<text class=\"row-value\" x=\"", SvgNum(kForestPlotRight + 12), "\" y=\"",
                    SvgNum(y + 4), "\">", HtmlEscape(value), "</text></g>");
  }
  absl::StrAppend(&out, "</svg>");
  return CaptionedFigure(
      "report-figure", out,
      absl::StrCat("Forest plot: one row per outcome and comparison, the standardised effect "
                   "(Hedges' g, the marker) with its ",
                   ci, " (the line); the vertical line is no effect (g = 0)."));
}

std::string RenderAttenuationPanel(const ReportOutcome& outcome, double confidence_percent,
                                   const std::vector<std::string>& arm_order) {
  std::vector<double> values;
  std::vector<std::string> arms;
  std::vector<std::string> legend;  // "treatment vs control", one per arm
  for (const ReportTimeBin& bin : outcome.time_bins) {
    if (!bin.estimated) continue;
    for (const ReportEffect& e : bin.effects) {
      values.insert(values.end(), {e.estimate, e.conf_low, e.conf_high});
      if (std::find(arms.begin(), arms.end(), e.arm) == arms.end()) {
        arms.push_back(e.arm);
        legend.push_back(e.arm + " vs " + e.versus);
      }
    }
  }
  // An arm keeps the colour it has in the other figures.
  auto colour = [&](const std::string& arm) {
    auto it = std::find(arm_order.begin(), arm_order.end(), arm);
    return SeriesColour(it == arm_order.end() ? arm_order.size()
                                              : static_cast<size_t>(it - arm_order.begin()));
  };
  const PixelScale y{EffectAxis(values), kBinsTop + kBinsPlotHeight, kBinsTop};
  const double plot_right = kEffectWidth - kBinsRight;
  const std::string ci = FormatFixed(confidence_percent, 0) + "% CI";
  const std::string label = outcome.outcome + (outcome.primary ? " (primary)" : "");
  // The exploratory label is drawn on a line of its own under the title.
  const std::string shown_title = label + ": effect by time since the intervention";
  std::string out = OpenFigureSvg("figure-attenuation", shown_title + ", " + kExploratory,
                                  kEffectWidth, kBinsHeight, shown_title);
  absl::StrAppend(&out, "<text class=\"exploratory\" x=\"", SvgNum(kEffectWidth / 2),
                  "\" y=\"38\" text-anchor=\"middle\">", kExploratory, "</text>");
  for (size_t a = 0; a < arms.size(); ++a) {
    const double lx = kBinsLeft + 150 * static_cast<double>(a);
    absl::StrAppend(&out, "<g class=\"legend-entry\"><rect x=\"", SvgNum(lx),
                    "\" y=\"48\" "
                    "width=\"10\" height=\"10\" fill=\"",
                    colour(arms[a]), "\"/><text x=\"", SvgNum(lx + 14), "\" y=\"57\">",
                    HtmlEscape(legend[a]), "</text></g>");
  }
  for (double v : AxisTicks(y.axis)) {
    absl::StrAppend(&out, "<line class=\"grid\" x1=\"", SvgNum(kBinsLeft), "\" x2=\"",
                    SvgNum(plot_right), "\" y1=\"", SvgNum(y(v)), "\" y2=\"", SvgNum(y(v)),
                    "\"/><text class=\"tick\" x=\"", SvgNum(kBinsLeft - 6), "\" y=\"",
                    SvgNum(y(v) + 4), "\" text-anchor=\"end\">",
                    HtmlEscape(TickLabel(v, y.axis.step, false)), "</text>");
  }
  absl::StrAppend(&out, "<text class=\"axis-label\" transform=\"translate(14,",
                  SvgNum(kBinsTop + kBinsPlotHeight / 2), ") rotate(-90)\" text-anchor=\"middle\">",
                  "effect (", HtmlEscape(ci), ")</text>", "<line class=\"zero-line\" x1=\"",
                  SvgNum(kBinsLeft), "\" x2=\"", SvgNum(plot_right), "\" y1=\"", SvgNum(y(0)),
                  "\" y2=\"", SvgNum(y(0)), "\"/>");
  const double bin_width =
      (plot_right - kBinsLeft) / static_cast<double>(std::max<size_t>(1, outcome.time_bins.size()));
  for (size_t b = 0; b < outcome.time_bins.size(); ++b) {
    const ReportTimeBin& bin = outcome.time_bins[b];
    const double left = kBinsLeft + bin_width * static_cast<double>(b);
    const std::string bin_label =
        bin.label.empty()
            ? absl::StrCat(FormatFixed(bin.from_days, 0), "–", FormatFixed(bin.to_days, 0), " days")
            : bin.label;
    absl::StrAppend(&out, "<g class=\"time-bin\">");
    if (bin.estimated) {
      for (const ReportEffect& e : bin.effects) {
        const size_t a =
            static_cast<size_t>(std::find(arms.begin(), arms.end(), e.arm) - arms.begin());
        // Several arms side by side within their bin.
        const double cx =
            left + bin_width * static_cast<double>(a + 1) / static_cast<double>(arms.size() + 1);
        absl::StrAppend(
            &out, IntervalMark(false, y(e.conf_low), y(e.conf_high), cx, colour(e.arm)),
            EstimateMark(cx, y(e.estimate), colour(e.arm),
                         absl::StrCat(e.arm, " vs ", e.versus, ", ", bin_label, ": ",
                                      EffectWithInterval(e.estimate, e.conf_low, e.conf_high))));
      }
    }
    absl::StrAppend(
        &out, "<text class=\"bin-label\" x=\"", SvgNum(left + bin_width / 2), "\" y=\"",
        SvgNum(kBinsTop + kBinsPlotHeight + 18), "\" text-anchor=\"middle\">",
        HtmlEscape(bin_label), "</text><text class=\"bin-n\" x=\"", SvgNum(left + bin_width / 2),
        "\" y=\"", SvgNum(kBinsTop + kBinsPlotHeight + 34), "\" text-anchor=\"middle\">",
        bin.estimated ? absl::StrCat("n = ", bin.n) : std::string("not estimated"), "</text></g>");
  }
  absl::StrAppend(&out, "</svg>");
  return CaptionedFigure(
      "report-figure", out,
      absl::StrCat(label, ", ", kExploratory,
                   ": the effect of each arm against control among "
                   "those who responded in each bin of days since the intervention (the marker) "
                   "with its ",
                   ci, " (the line); the horizontal line is no effect."));
}

}  // namespace fieldwork::cli
