#include "services/survey_ingest/form/form_metrics.h"

#include <string>

namespace fieldwork::survey_ingest::form {
FormMetrics::FormMetrics(prometheus::Registry& registry)
    : funnel_(prometheus::BuildCounter()
                  .Name("fieldwork_survey_ingest_form_funnel_total")
                  .Help("Participants reaching each stage of the hosted form for the first time "
                        "(opened, started, completed), by trial and wave")
                  .Register(registry)) {}

StageObserver FormMetrics::Observer() {
  return [this](const std::string& trial, const std::string& wave, Stage stage) {
    funnel_.Add({{"trial", trial}, {"wave", wave}, {"stage", std::string(StageName(stage))}})
        .Increment();
  };
}

}  // namespace fieldwork::survey_ingest::form
