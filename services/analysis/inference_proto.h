// The statistics library's t-based inference as analysis.proto's Inference message.
#ifndef FIELDWORK_SERVICES_ANALYSIS_INFERENCE_PROTO_H_
#define FIELDWORK_SERVICES_ANALYSIS_INFERENCE_PROTO_H_

#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis {

// A coefficient or a linear combination: both carry the same fields.
template <typename Estimate>
void SetInference(const Estimate& c, fieldwork::v1::Inference& out) {
  out.set_estimate(c.estimate);
  out.set_std_error(c.std_error);
  out.set_statistic(c.statistic);
  out.set_df(c.df);
  out.set_p_value(c.p_value);
  out.set_conf_low(c.conf_low);
  out.set_conf_high(c.conf_high);
}

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_INFERENCE_PROTO_H_
