// The analysis service's Redis keys. A trial's keys share the {trial} hash tag, as every
// service's do, so its multi-key scripts stay atomic on a Redis Cluster.
#ifndef FIELDWORK_SERVICES_ANALYSIS_KEYS_H_
#define FIELDWORK_SERVICES_ANALYSIS_KEYS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fieldwork::analysis::keys {

// STRING: fieldwork.v1.PlanRecord
inline std::string Plan(absl::string_view trial, absl::string_view plan) {
  return absl::StrCat("fw:{", trial, "}:ana:plan:", plan);
}
// STRING: the record's version (decimal), compared-and-set with every write
inline std::string PlanVersion(absl::string_view trial, absl::string_view plan) {
  return absl::StrCat("fw:{", trial, "}:ana:plan:", plan, ":version");
}
// SET of the trial's plan ids
inline std::string Plans(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ana:plans");
}
// STRING: the live monitor's lease (services/common/redis_lease.h), the holding replica's name
// with a PX expiry. Not per trial: its own hash tag, alone in every call.
inline std::string MonitorLease() { return "fw:{monitor}:ana:lease"; }

}  // namespace fieldwork::analysis::keys

#endif  // FIELDWORK_SERVICES_ANALYSIS_KEYS_H_
