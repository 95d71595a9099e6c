#include "services/cli/consort_figure.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/cli/report_format.h"
#include "services/cli/svg_charts.h"

namespace fieldwork::cli {
namespace {

constexpr double kConsortMargin = 8;
constexpr double kConsortColumn = 240;
constexpr double kConsortGap = 16;
constexpr double kConsortLine = 15;   // one line of text
constexpr double kConsortPad = 7;     // inside a box, above and below the text
constexpr double kConsortArrow = 22;  // between two boxes
constexpr double kConsortTop = 34;    // under the title

// One box: its first line is the heading, the rest its counts.
struct ConsortBox {
  std::string stage;
  std::string arm;
  std::string wave;
  std::vector<std::string> lines;
};

double BoxHeight(const ConsortBox& box) {
  return 2 * kConsortPad + kConsortLine * static_cast<double>(box.lines.size());
}

std::string DrawBox(const ConsortBox& box, double x, double y, double width) {
  std::string out = absl::StrCat("<g class=\"consort-box\" data-stage=\"", box.stage, "\"");
  if (!box.arm.empty()) absl::StrAppend(&out, " data-arm=\"", HtmlEscape(box.arm), "\"");
  if (!box.wave.empty()) absl::StrAppend(&out, " data-wave=\"", HtmlEscape(box.wave), "\"");
  absl::StrAppend(&out, "><rect x=\"", SvgNum(x), "\" y=\"", SvgNum(y), "\" width=\"",
                  SvgNum(width), "\" height=\"", SvgNum(BoxHeight(box)), "\" rx=\"3\"/>");
  for (size_t i = 0; i < box.lines.size(); ++i) {
    absl::StrAppend(&out, "<text class=\"", i == 0 ? "consort-heading" : "consort-count", "\" x=\"",
                    SvgNum(x + 8), "\" y=\"",
                    SvgNum(y + kConsortPad + kConsortLine * static_cast<double>(i + 1) - 4), "\">",
                    HtmlEscape(box.lines[i]), "</text>");
  }
  return out + "</g>";
}

std::string ConsortCount(const std::string& what, int64_t n) { return absl::StrCat(what, ": ", n); }

// The boxes of one arm, top to bottom.
std::vector<ConsortBox> ArmColumn(const ReportConsort& flow, const ReportConsortArm& arm,
                                  bool analysed_row) {
  std::vector<ConsortBox> boxes;
  boxes.push_back(
      {"allocated", arm.arm, "", {"Allocated to " + arm.arm, ConsortCount("n", arm.allocated)}});
  ConsortBox received{"received", arm.arm, "", {"Received the intervention"}};
  if (arm.takeup_rate.has_value()) {
    received.lines.push_back(absl::StrCat("took it up: ", FormatPercent(*arm.takeup_rate)));
    received.lines.push_back("(opened or clicked " + flow.takeup_campaign + ")");
  } else {
    received.lines.push_back("not measured");
  }
  boxes.push_back(std::move(received));
  for (const ReportConsortWave& w : arm.waves) {
    boxes.push_back(
        {"follow-up",
         arm.arm,
         w.wave,
         {absl::StrCat("Lost to follow-up, ", w.wave, ": ", w.withdrawn + w.left + w.non_response),
          ConsortCount("withdrew", w.withdrawn), ConsortCount("left the organisation", w.left),
          ConsortCount("did not respond", w.non_response),
          ConsortCount("responded", w.responded)}});
  }
  if (analysed_row) {
    ConsortBox analysed{"analysed", arm.arm, "", {"Analysed"}};
    for (const ReportConsortAnalysed& a : arm.analysed) {
      analysed.lines.push_back(absl::StrCat(a.outcome, ": ", a.n, " of ", a.randomised));
    }
    boxes.push_back(std::move(analysed));
  }
  return boxes;
}

std::string ConsortCaption(const ReportConsort& flow, bool analysed_row) {
  std::string arms;
  for (const ReportConsortArm& arm : flow.arms) {
    absl::StrAppend(&arms, arms.empty() ? "" : ", ", arm.arm, " (n = ", arm.allocated, ")");
  }
  return absl::StrCat(
      "Participant flow (CONSORT 2025): ", flow.enrolled, " enrolled, allocated by ", flow.factor,
      " to ", arms, "; who received the intervention (",
      flow.takeup_campaign.empty() ? std::string("take-up not measured")
                                   : "take-up of campaign " + flow.takeup_campaign,
      "); at each follow-up wave, those who withdrew, left the organisation or did not respond",
      analysed_row ? "; and the number analysed of each outcome, of the arm's analysed "
                     "participants (withdrawn excluded)."
                   : ".");
}

}  // namespace

std::string RenderConsortFigure(const ReportConsort& flow) {
  bool analysed_row = false;
  for (const ReportConsortArm& arm : flow.arms)
    analysed_row = analysed_row || !arm.analysed.empty();
  std::vector<std::vector<ConsortBox>> columns;
  int64_t allocated = 0;
  for (const ReportConsortArm& arm : flow.arms) {
    columns.push_back(ArmColumn(flow, arm, analysed_row));
    allocated += arm.allocated;
  }
  const auto n_columns = static_cast<double>(std::max<size_t>(1, columns.size()));
  const double width =
      2 * kConsortMargin + n_columns * kConsortColumn + (n_columns - 1) * kConsortGap;
  auto column_x = [&](size_t c) {
    return kConsortMargin + static_cast<double>(c) * (kConsortColumn + kConsortGap);
  };

  ConsortBox enrolled{"enrolled", "", "", {"Enrolled", ConsortCount("n", flow.enrolled)}};
  if (flow.enrolled > allocated)
    enrolled.lines.push_back(ConsortCount("not allocated", flow.enrolled - allocated));
  const double enrolled_width = std::min(kConsortColumn, width - 2 * kConsortMargin);
  std::string body = DrawBox(enrolled, (width - enrolled_width) / 2, kConsortTop, enrolled_width);
  // From the enrolled box down to a bar over the arms' columns, then an arrow into each.
  const double enrolled_bottom = kConsortTop + BoxHeight(enrolled);
  const double bar_y = enrolled_bottom + kConsortArrow / 2;
  double y = enrolled_bottom + kConsortArrow;
  absl::StrAppend(&body, "<path class=\"arrow\" d=\"M", SvgNum(width / 2), " ",
                  SvgNum(enrolled_bottom), "V", SvgNum(bar_y), "M",
                  SvgNum(column_x(0) + kConsortColumn / 2), " ", SvgNum(bar_y), "H",
                  SvgNum(column_x(columns.size() - 1) + kConsortColumn / 2), "\"/>");
  for (size_t c = 0; c < columns.size(); ++c) {
    absl::StrAppend(&body, DownArrow(column_x(c) + kConsortColumn / 2, bar_y, y));
  }
  // Row by row, so the boxes of one stage line up across the arms.
  const size_t rows = columns.empty() ? 0 : columns[0].size();
  for (size_t r = 0; r < rows; ++r) {
    double row_height = 0;
    for (const auto& column : columns) row_height = std::max(row_height, BoxHeight(column[r]));
    for (size_t c = 0; c < columns.size(); ++c) {
      absl::StrAppend(&body, DrawBox(columns[c][r], column_x(c), y, kConsortColumn));
      if (r + 1 < rows) {
        const double x = column_x(c) + kConsortColumn / 2;
        absl::StrAppend(&body,
                        DownArrow(x, y + BoxHeight(columns[c][r]), y + row_height + kConsortArrow));
      }
    }
    y += row_height + kConsortArrow;
  }
  const double height = y - kConsortArrow + kConsortMargin;
  return CaptionedFigure(
      "report-figure",
      absl::StrCat(
          OpenFigureSvg("figure-consort", "Participant flow (CONSORT 2025) by " + flow.factor,
                        width, height),
          body, "</svg>"),
      ConsortCaption(flow, analysed_row));
}

}  // namespace fieldwork::cli
