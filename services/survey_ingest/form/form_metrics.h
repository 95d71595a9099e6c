// The hosted form's response funnel on /metrics, per trial and wave, never per participant:
//   fieldwork_survey_ingest_form_funnel_total{trial,wave,stage}   counter; stage: opened (the
//       link opened for the first time), started (the first page stored), completed (the final
//       submit accepted). Each participant passes each stage once.
// Arms are not labels: survey-ingest holds no allocations (the analysis service joins them).
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_METRICS_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "services/survey_ingest/form/survey_form.h"

namespace fieldwork::survey_ingest::form {

class FormMetrics {
 public:
  explicit FormMetrics(prometheus::Registry& registry);
  StageObserver Observer();

 private:
  prometheus::Family<prometheus::Counter>& funnel_;
};

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_METRICS_H_
