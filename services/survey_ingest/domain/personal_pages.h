// An online experiment's pages for one participant: what the hosted form shows depends on the
// participant's allocation — the order of the blocks (a random_order factor), the wording of
// their condition (text_by_arm), and in a decision block which stimulus goes with which case
// (a latin_square factor) and how many decisions share a page. Pure: no I/O.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_PERSONAL_PAGES_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_PERSONAL_PAGES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/survey_ingest/domain/instrument.h"

namespace fieldwork::survey_ingest {

// A participant's allocation as the form needs it.
struct ParticipantAllocation {
  std::map<std::string, std::string, std::less<>> arms;                 // factor -> arm
  std::map<std::string, std::vector<std::string>, std::less<>> orders;  // factor -> its order
};

// One decision as the participant was shown it: stored with the response in long format.
struct ShownDecision {
  std::string block;  // the decision block's id
  int index = 0;      // from 1, in the block's order (case i)
  std::string item;   // the item that holds the answer
  std::string stimulus;  // the stimulus id shown with case i
  std::string stimulus_text;
  std::map<std::string, std::string, std::less<>> attributes;  // the stimulus's
};

struct PersonalPages {
  std::vector<Page> pages;  // with text resolved and item_context set
  std::vector<ShownDecision> decisions;
};

// The participant's pages. FAILED_PRECONDITION naming the factor, arm or item when the
// allocation does not fit the instrument (a factor missing, an arm without a text or a
// per-page count, an order that is not the blocks or the stimuli).
absl::StatusOr<PersonalPages> PersonalisePages(const Instrument& instrument,
                                               const ParticipantAllocation& allocation);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_PERSONAL_PAGES_H_
