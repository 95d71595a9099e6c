// Two small inline-SVG charts for the HTML report: grouped bars with ± error bars, and step
// lines over time. Pure string building; every label is HTML-escaped. Each chart is an
// <svg class="figure ..."> with a <title>, so a reader (or a test) can find it in the page.
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

// The colour of the i-th series (a palette readable in print and by colour-blind readers).
std::string SeriesColour(size_t index);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_SVG_CHARTS_H_
