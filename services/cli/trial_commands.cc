// apply, randomise, balance, export: the commands about a trial's design and
// allocation.
#include <iostream>
#include <map>

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/cli/commands.h"
#include "services/cli/protocol.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

// The fields in which two designs differ, as paths ("factors[0].arms[1].weight").
std::vector<std::string> DesignDifferences(const v1::TrialDesign& stored, const v1::TrialDesign& wanted) {
  std::vector<std::string> paths;
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(stored, wanted)) return paths;
  std::string line;
  std::istringstream lines(report);
  while (std::getline(lines, line)) paths.push_back(line);
  return paths;
}

bool Usage(const Args& args, size_t n, const char* usage) {
  if (args.size() == n) return true;
  std::cerr << "usage: fieldwork " << usage << "\n";
  return false;
}

}  // namespace

int Apply(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (!Usage(args, 1, "apply PROTOCOL.yaml [--dry_run]")) return kUsage;
  absl::StatusOr<std::string> text = ReadFile(args[0]);
  if (!text.ok()) return std::cerr << "fieldwork: " << text.status().message() << "\n", kUsage;
  absl::StatusOr<Protocol> protocol = ParseProtocol(*text, args[0], ReadFile);
  if (!protocol.ok()) return std::cerr << "fieldwork: " << protocol.status().message() << "\n", kUsage;
  const std::string& trial_id = protocol->design.trial_id();

  v1::GetTrialRequest get;
  get.set_trial_id(trial_id);
  v1::GetTrialResponse current;
  const grpc::Status got = cli.randomisation().GetTrial(cli.Call().get(), get, &current);
  if (!got.ok() && got.error_code() != grpc::StatusCode::NOT_FOUND) return ReportFailure("GetTrial", got);
  const bool exists = got.ok();
  std::vector<std::string> differences;
  if (exists) differences = DesignDifferences(current.trial().design(), protocol->design);
  const bool locked = exists && current.trial().state() != v1::TRIAL_STATE_DRAFT;

  std::cout << "trial " << trial_id << ": ";
  if (!exists) {
    std::cout << "will be created\n";
  } else if (differences.empty()) {
    std::cout << "design unchanged\n";
  } else {
    std::cout << (locked ? "design is LOCKED; refusing these changes:\n" : "design changes:\n");
    for (const std::string& d : differences) std::cout << "  " << d << "\n";
  }
  for (const auto& instrument : protocol->instruments) std::cout << "instrument " << instrument.path << ": will be put\n";
  for (const auto& wave : protocol->waves) std::cout << "wave " << wave.wave_id() << ": will be put\n";
  if (protocol->lock_design && !locked) std::cout << "design: will be locked\n";
  if (locked && !differences.empty()) return kRejected;
  if (options.dry_run) return kOk;

  if (!exists) {
    v1::CreateTrialRequest create;
    *create.mutable_design() = protocol->design;
    v1::CreateTrialResponse created;
    if (auto s = cli.randomisation().CreateTrial(cli.Call().get(), create, &created); !s.ok()) return ReportFailure("CreateTrial", s);
    std::cout << "created trial " << trial_id << "; secret commitment (publish it in the pre-registration): "
              << created.trial().secret_commitment() << "\n";
  } else if (!differences.empty()) {
    v1::UpdateDesignRequest update;
    *update.mutable_design() = protocol->design;
    v1::UpdateDesignResponse updated;
    if (auto s = cli.randomisation().UpdateDesign(cli.Call().get(), update, &updated); !s.ok()) return ReportFailure("UpdateDesign", s);
    std::cout << "updated the design of " << trial_id << "\n";
  }
  for (const auto& file : protocol->instruments) {
    v1::PutInstrumentRequest put;
    put.set_trial_id(trial_id);
    put.mutable_instrument()->set_definition_yaml(file.definition_yaml);
    v1::PutInstrumentResponse instrument;
    if (auto s = cli.survey_ingest().PutInstrument(cli.Call().get(), put, &instrument); !s.ok()) {
      return ReportFailure(absl::StrCat("PutInstrument ", file.path), s);
    }
    std::cout << "instrument " << instrument.instrument().instrument_id() << " v" << instrument.instrument().version() << ": ok\n";
  }
  for (const auto& wave : protocol->waves) {
    v1::PutWaveRequest put;
    *put.mutable_wave() = wave;
    v1::PutWaveResponse done;
    if (auto s = cli.survey_ingest().PutWave(cli.Call().get(), put, &done); !s.ok()) {
      return ReportFailure(absl::StrCat("PutWave ", wave.wave_id()), s);
    }
    std::cout << "wave " << wave.wave_id() << ": ok\n";
  }
  if (protocol->lock_design && !locked) {
    v1::LockDesignRequest lock;
    lock.set_trial_id(trial_id);
    v1::LockDesignResponse response;
    if (auto s = cli.randomisation().LockDesign(cli.Call().get(), lock, &response); !s.ok()) return ReportFailure("LockDesign", s);
    std::cout << "locked the design; sha256 " << response.design_sha256() << "\n";
  }
  return kOk;
}

int Randomise(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (!Usage(args, 1, "randomise TRIAL [--cohort=C]")) return kUsage;
  v1::RandomiseRequest request;
  request.set_trial_id(args[0]);
  request.set_cohort(options.cohort);
  v1::RandomiseResponse response;
  if (auto s = cli.randomisation().Randomise(cli.Call().get(), request, &response); !s.ok()) return ReportFailure("Randomise", s);
  std::cout << "newly allocated " << response.newly_allocated() << ", already allocated "
            << response.already_allocated() << "\n";
  std::map<std::string, int64_t> counts(response.counts().begin(), response.counts().end());
  for (const auto& [arm, n] : counts) std::cout << "  " << arm << ": " << n << "\n";
  return kOk;
}

int Balance(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (!Usage(args, 1, "balance TRIAL [--cohort=C]")) return kUsage;
  v1::BalanceRequest request;
  request.set_trial_id(args[0]);
  request.set_cohort(options.cohort);
  v1::BalanceResponse response;
  if (auto s = cli.randomisation().Balance(cli.Call().get(), request, &response); !s.ok()) return ReportFailure("Balance", s);
  for (const auto& factor : response.factors()) {
    std::cout << "factor " << factor.factor() << "\n";
    std::map<std::string, int64_t> counts(factor.count_by_arm().begin(), factor.count_by_arm().end());
    for (const auto& [arm, n] : counts) std::cout << absl::StrFormat("  %-24s %8d\n", arm, n);
    std::cout << absl::StrFormat("  sample ratio mismatch: chi2 = %.3f, p = %.4f\n", factor.srm_chi_squared(), factor.srm_p_value());
    if (factor.covariates_size() > 0) {
      std::cout << absl::StrFormat("  %-24s %10s %-12s %10s\n", "covariate", "SMD", "test", "p");
      for (const auto& c : factor.covariates()) {
        std::cout << absl::StrFormat("  %-24s %10.3f %-12s %10.4f\n", c.covariate(), c.standardised_difference(), c.test(), c.p_value());
      }
      std::cout << absl::StrFormat("  joint test: statistic = %.3f, p = %.4f\n", factor.joint_statistic(), factor.joint_p_value());
    }
  }
  return kOk;
}

int ExportAllocations(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (!Usage(args, 1, "export TRIAL [--cohort=C]   (allocations as CSV on stdout)")) return kUsage;
  v1::ListAllocationsRequest request;
  request.set_trial_id(args[0]);
  request.set_cohort(options.cohort);
  auto context = cli.Call();
  auto reader = cli.randomisation().ListAllocations(context.get(), request);
  v1::ListAllocationsResponse message;
  bool header = false;
  while (reader->Read(&message)) {
    const auto& a = message.allocation();
    if (!header) {
      std::vector<std::string> columns = {"participant_id", "site", "cohort", "cluster"};
      for (const auto& assignment : a.assignments()) columns.push_back(assignment.factor());
      columns.insert(columns.end(), {"withdrawn", "left_on"});
      std::string line;
      survey_ingest::AppendCsvRecord(line, columns);
      std::cout << line;
      header = true;
    }
    std::vector<std::string> fields = {a.participant_id(), a.site(), a.cohort(), a.cluster()};
    for (const auto& assignment : a.assignments()) fields.push_back(assignment.arm());
    fields.push_back(a.has_withdrawal() ? "true" : "false");
    fields.push_back(a.has_left_on() ? absl::StrFormat("%04d-%02d-%02d", a.left_on().year(), a.left_on().month(), a.left_on().day()) : "");
    std::string line;
    survey_ingest::AppendCsvRecord(line, fields);
    std::cout << line;
  }
  if (auto s = reader->Finish(); !s.ok()) return ReportFailure("ListAllocations", s);
  return kOk;
}

}  // namespace fieldwork::cli
