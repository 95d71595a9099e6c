// Two small inline-SVG charts for the HTML report: grouped bars with ± error bars, and step
// lines over time, and the pieces every figure of the report is drawn with (the <svg> element,
// axes with round ticks, number formatting). Pure string building; every label is HTML-escaped.
// Each chart is an <svg class="figure ..."> with a <title>, so a reader (or a test) can find it
// in the page.
#ifndef FIELDWORK_SERVICES_CLI_SVG_CHARTS_H_
#define FIELDWORK_SERVICES_CLI_SVG_CHARTS_H_

#include <string>
#include <utility>
#include <vector>

namespace fieldwork::cli {

struct Bar {
  std::string series;  // the legend entry (e.g. an arm, a candidate group)
  double value = 0;
  double error = 0;   // drawn as value ± error when > 0
  std::string label;  // printed above the bar (e.g. "16.28")
};

struct BarGroup {
  std::string label;  // under the group (e.g. an outcome, a condition)
  std::vector<Bar> bars;
};

struct BarChart {
  std::string css_class;  // added to "figure"
  std::string title;
  std::string y_label;
  std::vector<BarGroup> groups;
  bool percent_axis = false;  // values are shares in [0, 1], axis in %
  // Optional: series named here get the colour of their position, so an arm keeps its colour
  // from figure to figure; others follow in order of appearance.
  std::vector<std::string> colour_order;
};

struct LineSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending
};

struct LineChart {
  std::string css_class;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<LineSeries> series;
  bool percent_axis = false;
  std::vector<std::string> colour_order;  // as BarChart's
};

std::string RenderBarChart(const BarChart& chart);
std::string RenderLineChart(const LineChart& chart);

// An axis from lo to hi with ticks every step.
struct SvgAxis {
  double lo = 0;
  double hi = 1;
  double step = 0.2;
};

// Ticks at 1, 2 or 5 × 10^k, about five of them, covering [lo, hi].
SvgAxis NiceAxis(double lo, double hi);
// The ticks' values, lo to hi.
std::vector<double> AxisTicks(const SvgAxis& axis);
// A tick's text: as many decimals as the step needs (or a percentage of a share).
std::string TickLabel(double value, double step, bool percent);
// A coordinate as SVG attributes carry them (one decimal).
std::string SvgNum(double value);

// Opens <svg class="figure CSS_CLASS"> of the given user-space size, scaled to the page's width
// (viewBox; width 100%, so it never overflows a narrow screen), with role="img", the title as
// its accessible name and <title>, and `shown_title` (default: the title) drawn at its top. The
// caller closes </svg>.
std::string OpenFigureSvg(const std::string& css_class, const std::string& title, double width,
                          double height, const std::string& shown_title = "");

// An arrow from (x, y1) straight down to (x, y2), its head at y2.
std::string DownArrow(double x, double y1, double y2);

// `svg` in a <figure> under a caption that says in words what the figure draws.
std::string CaptionedFigure(const std::string& css_class, const std::string& svg,
                            const std::string& caption);

// The colour of the i-th series (a palette readable in print and by colour-blind readers).
std::string SeriesColour(size_t index);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_SVG_CHARTS_H_
