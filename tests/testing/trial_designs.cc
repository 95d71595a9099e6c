#include "tests/testing/trial_designs.h"

namespace fieldwork::testing {

namespace v1 = ::fieldwork::v1;

v1::TrialDesign TwoArmsWithinSites(const std::string& trial,
                                   const std::vector<std::string>& sites) {
  v1::TrialDesign design;
  design.set_trial_id(trial);
  v1::Factor& factor = *design.add_factors();
  factor.set_name("arm");
  factor.set_method(v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  factor.add_strata("site");
  for (const char* arm : {"treatment", "control"}) {
    v1::Arm& a = *factor.add_arms();
    a.set_name(arm);
    a.set_weight(1);
  }
  for (const std::string& site : sites) design.add_sites()->set_id(site);
  return design;
}

v1::TrialDesign TwoArmsNorthAndSouth(const std::string& trial) {
  v1::TrialDesign design;
  design.set_trial_id(trial);
  design.add_sites()->set_id("north");
  design.add_sites()->set_id("south");
  v1::Factor& factor = *design.add_factors();
  factor.set_name("arm");
  factor.set_method(v1::RANDOMISATION_METHOD_COMPLETE);
  for (const char* arm : {"treatment", "control"}) {
    v1::Arm& a = *factor.add_arms();
    a.set_name(arm);
    a.set_weight(1);
  }
  return design;
}

v1::Participant EnrolmentAt(const std::string& id, const std::string& site,
                            const std::string& cluster) {
  v1::Participant p;
  p.set_participant_id(id);
  p.set_site(site);
  p.set_cluster(cluster);
  return p;
}

}  // namespace fieldwork::testing
