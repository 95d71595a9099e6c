// The report's two figures of effects with confidence intervals, as inline SVG: the forest plot
// of standardised effects across outcomes (and analyses), and the attenuation figure, one panel
// per outcome, of the effect by time since the intervention. An interval is a line with the
// estimate as a marker; each figure has a line at 0 and an axis with ticks. Pure.
#ifndef FIELDWORK_SERVICES_CLI_EFFECT_CHARTS_H_
#define FIELDWORK_SERVICES_CLI_EFFECT_CHARTS_H_

#include <string>
#include <vector>

#include "services/cli/report_html.h"

namespace fieldwork::cli {

// One <g class="forest-row"> per row, in order: its label at left (the analysis named when the
// rows come from several), the interval (<line class="ci">) and the estimate
// (<rect class="point">) on a shared horizontal axis, "g [low, high]" at right.
std::string RenderForestPlot(const std::vector<ReportForestRow>& rows, double confidence_percent);

// The panel of one outcome with time bins: one <g class="time-bin"> per bin, labelled under the
// axis, with each arm's effect against control (colour by its place in `arm_order`), or "not
// estimated". Labelled exploratory: it conditions on a post-treatment variable.
std::string RenderAttenuationPanel(const ReportOutcome& outcome, double confidence_percent,
                                   const std::vector<std::string>& arm_order);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_EFFECT_CHARTS_H_
