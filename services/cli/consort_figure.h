// The report's CONSORT 2025 flow diagram as inline SVG: boxes and arrows, one column per arm
// (enrolled → allocated → received the intervention → each follow-up wave → analysed). Pure.
#ifndef FIELDWORK_SERVICES_CLI_CONSORT_FIGURE_H_
#define FIELDWORK_SERVICES_CLI_CONSORT_FIGURE_H_

#include <string>

#include "services/cli/report_html.h"

namespace fieldwork::cli {

// A <figure> with the diagram and a caption saying what it draws. Each box is a
// <g class="consort-box" data-stage="enrolled|allocated|received|follow-up|analysed"> (with
// data-arm, and data-wave for follow-up), so tests can find it. The analysed row is left out when
// nothing was analysed.
std::string RenderConsortFigure(const ReportConsort& flow);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_CONSORT_FIGURE_H_
