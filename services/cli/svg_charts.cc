#include "services/cli/svg_charts.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/cli/report_format.h"
#include "services/cli/report_html.h"

namespace fieldwork::cli {
namespace {

constexpr double kWidth = 640;
constexpr double kHeight = 320;
constexpr double kLeft = 64;    // room for the y ticks and label
constexpr double kRight = 150;  // room for the legend
constexpr double kTop = 36;     // room for the title
constexpr double kBottom = 56;  // room for the x labels

// Every chart here is drawn on the same canvas.
std::string Open(const std::string& css_class, const std::string& title) {
  return OpenFigureSvg(css_class, title, kWidth, kHeight);
}

// The y axis with grid lines and its label; returns the y pixel of a value through `y`.
std::string YAxis(const SvgAxis& axis, const std::string& label, bool percent) {
  std::string out;
  const double plot_height = kHeight - kTop - kBottom;
  for (double v = axis.lo; v <= axis.hi + axis.step / 2; v += axis.step) {
    const double y = kTop + plot_height * (1 - (v - axis.lo) / (axis.hi - axis.lo));
    absl::StrAppend(&out, "<line class=\"grid\" x1=\"", SvgNum(kLeft), "\" x2=\"",
                    SvgNum(kWidth - kRight), "\" y1=\"", SvgNum(y), "\" y2=\"", SvgNum(y), "\"/>",
                    "<text class=\"tick\" x=\"", SvgNum(kLeft - 6), "\" y=\"", SvgNum(y + 4),
                    "\" text-anchor=\"end\">", HtmlEscape(TickLabel(v, axis.step, percent)),
                    "</text>");
  }
  absl::StrAppend(&out, "<text class=\"axis-label\" transform=\"translate(14,",
                  SvgNum(kTop + plot_height / 2), ") rotate(-90)\" text-anchor=\"middle\">",
                  HtmlEscape(label), "</text>");
  return out;
}

// Colour index of every series: its position in `colour_order`, else the next free one.
std::map<std::string, size_t> ColourIndex(const std::vector<std::string>& colour_order,
                                          const std::vector<std::string>& names) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < colour_order.size(); ++i) index.emplace(colour_order[i], i);
  size_t next = colour_order.size();
  for (const std::string& name : names) {
    if (index.emplace(name, next).second) ++next;
  }
  return index;
}

std::string Legend(const std::vector<std::string>& names, std::map<std::string, size_t>& colour) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = kTop + 8 + 20 * static_cast<double>(i);
    absl::StrAppend(&out, "<g class=\"legend-entry\"><rect x=\"", SvgNum(kWidth - kRight + 14),
                    "\" y=\"", SvgNum(y - 10), "\" width=\"12\" height=\"12\" fill=\"",
                    SeriesColour(colour[names[i]]), "\"/><text x=\"", SvgNum(kWidth - kRight + 32),
                    "\" y=\"", SvgNum(y), "\">", HtmlEscape(names[i]), "</text></g>");
  }
  return out;
}

}  // namespace

SvgAxis NiceAxis(double lo, double hi) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / 5;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  }
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

std::vector<double> AxisTicks(const SvgAxis& axis) {
  std::vector<double> ticks;
  // Counted, not accumulated, so -0.3 + 0.1 + 0.1 + 0.1 is a clean 0.
  const auto n = static_cast<int>(std::llround((axis.hi - axis.lo) / axis.step));
  for (int i = 0; i <= n; ++i) ticks.push_back(axis.lo + axis.step * i);
  return ticks;
}

std::string TickLabel(double v, double step, bool percent) {
  if (percent) return FormatFixed(100 * v, step * 100 < 1 ? 1 : 0) + "%";
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return FormatFixed(v, decimals);
}

std::string SvgNum(double v) { return absl::StrFormat("%.1f", v); }

std::string OpenFigureSvg(const std::string& css_class, const std::string& title, double width,
                          double height, const std::string& shown_title) {
  return absl::StrCat(
      "<svg class=\"figure ", HtmlEscape(css_class), "\" xmlns=\"http://www.w3.org/2000/svg\" ",
      "viewBox=\"0 0 ", SvgNum(width), " ", SvgNum(height),
      // Never wider than drawn (text stays its size on a wide page), narrower on a phone.
      "\" width=\"100%\" style=\"max-width:", SvgNum(width), "px\" role=\"img\" ", "aria-label=\"",
      HtmlEscape(title), "\"><title>", HtmlEscape(title), "</title>",
      "<text class=\"chart-title\" x=\"", SvgNum(width / 2), "\" y=\"20\" text-anchor=\"middle\">",
      HtmlEscape(shown_title.empty() ? title : shown_title), "</text>");
}

std::string DownArrow(double x, double y1, double y2) {
  constexpr double kHead = 6;
  return absl::StrCat("<path class=\"arrow\" d=\"M", SvgNum(x), " ", SvgNum(y1), "V",
                      SvgNum(y2 - kHead), "\"/><path class=\"arrow-head\" d=\"M", SvgNum(x - 4),
                      " ", SvgNum(y2 - kHead), "H", SvgNum(x + 4), "L", SvgNum(x), " ", SvgNum(y2),
                      "Z\"/>");
}

std::string CaptionedFigure(const std::string& css_class, const std::string& svg,
                            const std::string& caption) {
  return absl::StrCat("<figure class=\"", HtmlEscape(css_class), "\">", svg, "<figcaption>",
                      HtmlEscape(caption), "</figcaption></figure>");
}

std::string SeriesColour(size_t index) {
  // Okabe–Ito.
  static const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                   "#56B4E9", "#D55E00", "#F0E442", "#000000"};
  return kColours[index % (sizeof(kColours) / sizeof(kColours[0]))];
}

std::string RenderBarChart(const BarChart& chart) {
  std::vector<std::string> series;
  std::map<std::string, size_t> series_index;
  double lo = 0;
  double hi = chart.percent_axis ? 1 : 0;
  for (const BarGroup& group : chart.groups) {
    for (const Bar& bar : group.bars) {
      if (series_index.emplace(bar.series, series.size()).second) series.push_back(bar.series);
      const double error = std::isfinite(bar.error) && bar.error > 0 ? bar.error : 0;
      if (std::isfinite(bar.value)) {
        lo = std::min(lo, bar.value - error);
        hi = std::max(hi, bar.value + error);
      }
    }
  }
  std::map<std::string, size_t> colour = ColourIndex(chart.colour_order, series);
  const SvgAxis axis = NiceAxis(lo, hi);
  const double plot_width = kWidth - kLeft - kRight;
  const double plot_height = kHeight - kTop - kBottom;
  auto y_of = [&](double v) {
    return kTop + plot_height * (1 - (v - axis.lo) / (axis.hi - axis.lo));
  };

  std::string out = Open(chart.css_class, chart.title);
  absl::StrAppend(&out, YAxis(axis, chart.y_label, chart.percent_axis));
  const double group_width =
      chart.groups.empty() ? plot_width : plot_width / static_cast<double>(chart.groups.size());
  for (size_t g = 0; g < chart.groups.size(); ++g) {
    const BarGroup& group = chart.groups[g];
    const double x0 = kLeft + group_width * static_cast<double>(g);
    const double bar_width =
        group_width * 0.8 / static_cast<double>(std::max<size_t>(1, group.bars.size()));
    absl::StrAppend(&out, "<g class=\"bar-group\">");
    for (size_t b = 0; b < group.bars.size(); ++b) {
      const Bar& bar = group.bars[b];
      if (!std::isfinite(bar.value)) continue;
      const double x = x0 + group_width * 0.1 + bar_width * static_cast<double>(b);
      const double top = y_of(std::max(bar.value, 0.0));
      const double bottom = y_of(std::min(bar.value, 0.0));
      absl::StrAppend(&out, "<rect class=\"bar\" x=\"", SvgNum(x + 2), "\" y=\"", SvgNum(top),
                      "\" width=\"", SvgNum(bar_width - 4), "\" height=\"",
                      SvgNum(std::max(0.5, bottom - top)), "\" fill=\"",
                      SeriesColour(colour[bar.series]), "\"><title>", HtmlEscape(bar.series), ": ",
                      HtmlEscape(bar.label), "</title></rect>");
      const double centre = x + bar_width / 2;
      double label_y = top - 4;
      if (std::isfinite(bar.error) && bar.error > 0) {
        const double y_hi = y_of(bar.value + bar.error);
        const double y_lo = y_of(bar.value - bar.error);
        absl::StrAppend(&out, "<path class=\"error-bar\" d=\"M", SvgNum(centre), " ", SvgNum(y_lo),
                        "V", SvgNum(y_hi), "M", SvgNum(centre - 5), " ", SvgNum(y_hi), "H",
                        SvgNum(centre + 5), "M", SvgNum(centre - 5), " ", SvgNum(y_lo), "H",
                        SvgNum(centre + 5), "\"/>");
        label_y = std::min(label_y, y_hi - 4);
      }
      absl::StrAppend(&out, "<text class=\"bar-label\" x=\"", SvgNum(centre), "\" y=\"",
                      SvgNum(label_y), "\" text-anchor=\"middle\">", HtmlEscape(bar.label),
                      "</text>");
    }
    absl::StrAppend(&out, "<text class=\"group-label\" x=\"", SvgNum(x0 + group_width / 2),
                    "\" y=\"", SvgNum(kHeight - kBottom + 18), "\" text-anchor=\"middle\">",
                    HtmlEscape(group.label), "</text></g>");
  }
  absl::StrAppend(&out, "<line class=\"axis\" x1=\"", SvgNum(kLeft), "\" x2=\"",
                  SvgNum(kWidth - kRight), "\" y1=\"", SvgNum(y_of(0)), "\" y2=\"", SvgNum(y_of(0)),
                  "\"/>", Legend(series, colour), "</svg>");
  return out;
}

std::string RenderLineChart(const LineChart& chart) {
  double x_hi = 1;
  double y_hi = chart.percent_axis ? 1 : 0;
  for (const LineSeries& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      x_hi = std::max(x_hi, x);
      y_hi = std::max(y_hi, y);
    }
  }
  const SvgAxis x_axis = NiceAxis(0, x_hi);
  const SvgAxis y_axis = NiceAxis(0, y_hi);
  const double plot_width = kWidth - kLeft - kRight;
  const double plot_height = kHeight - kTop - kBottom;
  auto x_of = [&](double v) {
    return kLeft + plot_width * (v - x_axis.lo) / (x_axis.hi - x_axis.lo);
  };
  auto y_of = [&](double v) {
    return kTop + plot_height * (1 - (v - y_axis.lo) / (y_axis.hi - y_axis.lo));
  };

  std::string out = Open(chart.css_class, chart.title);
  absl::StrAppend(&out, YAxis(y_axis, chart.y_label, chart.percent_axis));
  for (double v = x_axis.lo; v <= x_axis.hi + x_axis.step / 2; v += x_axis.step) {
    absl::StrAppend(&out, "<text class=\"tick\" x=\"", SvgNum(x_of(v)), "\" y=\"",
                    SvgNum(kHeight - kBottom + 16), "\" text-anchor=\"middle\">",
                    HtmlEscape(TickLabel(v, x_axis.step, false)), "</text>");
  }
  absl::StrAppend(&out, "<text class=\"axis-label\" x=\"", SvgNum(kLeft + plot_width / 2),
                  "\" y=\"", SvgNum(kHeight - 12), "\" text-anchor=\"middle\">",
                  HtmlEscape(chart.x_label), "</text>");
  std::vector<std::string> names;
  for (const LineSeries& s : chart.series) names.push_back(s.label);
  std::map<std::string, size_t> colour = ColourIndex(chart.colour_order, names);
  for (const LineSeries& s : chart.series) {
    // A step line: the cumulative rate holds until the next response.
    std::string d = absl::StrCat("M", SvgNum(x_of(0)), " ", SvgNum(y_of(0)));
    for (const auto& [x, y] : s.points)
      absl::StrAppend(&d, "H", SvgNum(x_of(x)), "V", SvgNum(y_of(y)));
    absl::StrAppend(&out, "<path class=\"series\" fill=\"none\" stroke-width=\"2\" stroke=\"",
                    SeriesColour(colour[s.label]), "\" d=\"", d, "\"><title>", HtmlEscape(s.label),
                    "</title></path>");
  }
  absl::StrAppend(&out, "<line class=\"axis\" x1=\"", SvgNum(kLeft), "\" x2=\"",
                  SvgNum(kWidth - kRight), "\" y1=\"", SvgNum(y_of(0)), "\" y2=\"", SvgNum(y_of(0)),
                  "\"/>", Legend(names, colour), "</svg>");
  return out;
}

}  // namespace fieldwork::cli
