#include "bench/survey_ingest/bench_data.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/instrument_yaml.h"

namespace fieldwork::survey_ingest {

// 30 items: ONS4 (0-10), CBI work (7 scored choices), motivation (6, 1-7), social worth and
// connection to the profession (4 + 4, 1-7), CV ratings (3, 1-7), sickness days, a comment.
const absl::string_view kBenchInstrument = R"yaml(
id: bench
version: 1
items:
  - {id: ons_1, label: L, type: likert, min: 0, max: 10, qualtrics_import_id: QID1}
  - {id: ons_2, label: L, type: likert, min: 0, max: 10, qualtrics_import_id: QID2}
  - {id: ons_3, label: L, type: likert, min: 0, max: 10, qualtrics_import_id: QID3}
  - {id: ons_4, label: L, type: likert, min: 0, max: 10, qualtrics_import_id: QID4}
  - id: cbi_1
    label: L
    type: single_choice
    qualtrics_import_id: QID5_1
    options: &cbi
      - {code: "0", label: Never, score: 0}
      - {code: "25", label: Seldom, score: 25}
      - {code: "50", label: Sometimes, score: 50}
      - {code: "75", label: Often, score: 75}
      - {code: "100", label: Always, score: 100}
  - {id: cbi_2, label: L, type: single_choice, qualtrics_import_id: QID5_2, options: *cbi}
  - {id: cbi_3, label: L, type: single_choice, qualtrics_import_id: QID5_3, options: *cbi}
  - {id: cbi_4, label: L, type: single_choice, qualtrics_import_id: QID5_4, options: *cbi}
  - {id: cbi_5, label: L, type: single_choice, qualtrics_import_id: QID5_5, options: *cbi}
  - {id: cbi_6, label: L, type: single_choice, qualtrics_import_id: QID5_6, options: *cbi}
  - {id: cbi_7, label: L, type: single_choice, qualtrics_import_id: QID5_7, options: *cbi}
  - {id: mot_1, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID6_1}
  - {id: mot_2, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID6_2}
  - {id: mot_3, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID6_3}
  - {id: mot_4, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID6_4}
  - {id: mot_5, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID6_5}
  - {id: mot_6, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID6_6}
  - {id: sw_1, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID7_1}
  - {id: sw_2, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID7_2}
  - {id: sw_3, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID7_3}
  - {id: sw_4, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID7_4}
  - {id: cp_1, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID8_1}
  - {id: cp_2, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID8_2}
  - {id: cp_3, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID8_3}
  - {id: cp_4, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID8_4}
  - {id: cv_1, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID9_1}
  - {id: cv_2, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID9_2}
  - {id: cv_3, label: L, type: likert, min: 1, max: 7, qualtrics_import_id: QID9_3}
  - {id: days, label: L, type: numeric, min: 0, max: 92, integer: true, qualtrics_import_id: QID10}
  - {id: comment, label: L, type: free_text, qualtrics_import_id: QID11_TEXT}
scales:
  - {id: evaluative, label: S, items: [ons_1, ons_2], min_answered: 2}
  - {id: happiness, label: S, items: [ons_3]}
  - {id: anxiety, label: S, items: [ons_4]}
  - {id: burnout, label: S, items: [cbi_1, cbi_2, cbi_3, cbi_4, cbi_5, cbi_6, cbi_7],
     reverse: [cbi_4], min_answered: 4}
  - {id: motivation, label: S, items: [mot_1, mot_2, mot_3, mot_4, mot_5, mot_6],
     reverse: [mot_3], min_answered: 4}
  - {id: social_worth, label: S, items: [sw_1, sw_2, sw_3, sw_4], reverse: [sw_4], min_answered: 3}
  - {id: connection, label: S, items: [cp_1, cp_2, cp_3, cp_4], reverse: [cp_4], min_answered: 3}
  - {id: cv_score, label: S, items: [cv_1, cv_2, cv_3], method: sum}
  - {id: sickness_days, label: S, items: [days], method: sum}
composites:
  - id: swb
    label: C
    components:
      - {scale: evaluative, weight: 1}
      - {scale: happiness, weight: 0.5}
      - {scale: anxiety, weight: -0.5}
)yaml";

const Scorer& BenchScorer() {
  static const Scorer* scorer = new Scorer(*Scorer::Create(*ParseInstrumentYaml(kBenchInstrument)));
  return *scorer;
}

// A Qualtrics export as Qualtrics writes it: BOM, CRLF, three header rows, every field quoted,
// the usual metadata columns, about 5% of answers blank and a comment on one row in ten.
std::string MakeExport(int rows) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % bound;
  };
  const Instrument& instrument = BenchScorer().instrument();
  std::vector<std::string> names = {"StartDate",
                                    "EndDate",
                                    "Status",
                                    "IPAddress",
                                    "Progress",
                                    "Duration (in seconds)",
                                    "Finished",
                                    "RecordedDate",
                                    "ResponseId",
                                    "ExternalReference",
                                    "DistributionChannel",
                                    "UserLanguage"};
  std::vector<std::string> ids = {"startDate",
                                  "endDate",
                                  "status",
                                  "ipAddress",
                                  "progress",
                                  "duration",
                                  "finished",
                                  "recordedDate",
                                  "_recordId",
                                  "externalDataReference",
                                  "distributionChannel",
                                  "userLanguage"};
  for (const Item& item : instrument.items) {
    names.push_back(absl::StrCat("Q_", item.id));
    ids.push_back(item.qualtrics_import_id);
  }
  std::string out = "\xEF\xBB\xBF";
  auto quoted_row = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "\"" : ",\"", fields[i], "\"");
    }
    out.append("\r\n");
  };
  quoted_row(names);
  quoted_row(names);  // question texts
  std::vector<std::string> import_ids;
  for (const std::string& id : ids) {
    import_ids.push_back(absl::StrCat("{\"\"ImportId\"\":\"\"", id, "\"\"}"));
  }
  quoted_row(import_ids);

  std::vector<std::string> fields(names.size());
  for (int r = 0; r < rows; ++r) {
    const int minute = r % 60;
    fields[0] = absl::StrCat("2021-03-04 10:", minute < 10 ? "0" : "", minute, ":00");
    fields[1] = absl::StrCat("2021-03-04 11:", minute < 10 ? "0" : "", minute, ":00");
    fields[2] = "0";
    fields[3] = absl::StrCat("10.0.", next(256), ".", next(256));
    fields[4] = "100";
    fields[5] = "3600";
    fields[6] = "1";
    fields[7] = fields[1];
    fields[8] = absl::StrCat("R_", absl::Hex(next(1ull << 40), absl::kZeroPad10));
    fields[9] = absl::StrCat("P", r);
    fields[10] = "anonymous";
    fields[11] = "EN";
    for (size_t i = 0; i < instrument.items.size(); ++i) {
      const Item& item = instrument.items[i];
      std::string& f = fields[12 + i];
      if (next(20) == 0) {
        f.clear();
        continue;
      }
      switch (item.type) {
        case ItemType::kLikert:
        case ItemType::kNumeric:
          f = absl::StrCat(static_cast<int>(item.min) +
                           static_cast<int>(next(static_cast<uint64_t>(item.max - item.min + 1))));
          if (item.type == ItemType::kNumeric) f = absl::StrCat(next(15));
          break;
        case ItemType::kSingleChoice:
          f = item.options[next(item.options.size())].code;
          break;
        case ItemType::kFreeText:
          f = next(10) == 0 ? "Busy week, but \"\"fine\"\".\r\nThanks" : "";
          break;
      }
    }
    quoted_row(fields);
  }
  return out;
}

}  // namespace fieldwork::survey_ingest
