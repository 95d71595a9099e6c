// apply, randomise, balance, export: the commands about a trial's design and
// allocation.
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/cli/commands.h"
#include "services/cli/protocol.h"
#include "services/cli/protocol_validation.h"
#include "services/common/paged_list.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

// The fields in which two messages differ, one line each ("modified: factors[0].arms[1].weight: 1 -> 2").
std::vector<std::string> Differences(const google::protobuf::Message& stored, const google::protobuf::Message& wanted) {
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

// What apply found each part of the protocol to need, decided before anything is changed so
// that a refusal (a locked design or plan, a campaign that cannot change) changes nothing.
struct ApplyPlan {
  bool trial_exists = false;
  bool design_locked = false;
  std::vector<std::string> design_differences;
  std::vector<const Protocol::InstrumentFile*> instruments_to_put;
  std::vector<const v1::Wave*> waves_to_put;
  std::vector<const v1::CampaignDefinition*> campaigns_to_create;
  // One per analysis plan of the protocol, in its order.
  struct PlanChange {
    const v1::AnalysisPlan* wanted = nullptr;
    bool exists = false;
    bool locked = false;
    std::vector<std::string> differences;
  };
  std::vector<PlanChange> plans;
  int changes = 0;
  bool refused = false;
};

// Reads what the services hold and prints what applying the protocol will change.
// Returns an exit code when a service call failed, nullopt otherwise.
std::optional<int> PlanApply(CliContext& cli, const Protocol& protocol, const CommandOptions& options, ApplyPlan& plan) {
  const std::string& trial_id = protocol.design.trial_id();
  v1::GetTrialRequest get;
  get.set_trial_id(trial_id);
  v1::GetTrialResponse current;
  const grpc::Status got = cli.randomisation().GetTrial(cli.Call().get(), get, &current);
  if (!got.ok() && got.error_code() != grpc::StatusCode::NOT_FOUND) return ReportFailure("GetTrial", got);
  plan.trial_exists = got.ok();
  if (plan.trial_exists) plan.design_differences = Differences(current.trial().design(), protocol.design);
  plan.design_locked = plan.trial_exists && current.trial().state() != v1::TRIAL_STATE_DRAFT;
  std::cout << "trial " << trial_id << ": ";
  if (!plan.trial_exists) {
    std::cout << "will be created\n";
    ++plan.changes;
  } else if (plan.design_differences.empty()) {
    std::cout << "design unchanged\n";
  } else {
    std::cout << (plan.design_locked ? "design is LOCKED; refusing these changes:\n" : "design changes:\n");
    for (const std::string& d : plan.design_differences) std::cout << "  " << d << "\n";
    plan.refused |= plan.design_locked;
    ++plan.changes;
  }

  if (!protocol.instruments.empty() || !protocol.waves.empty()) {
    v1::ListInstrumentsResponse instruments;
    v1::ListWavesResponse waves;
    if (plan.trial_exists) {
      v1::ListInstrumentsRequest list_instruments;
      list_instruments.set_trial_id(trial_id);
      if (auto s = cli.survey_ingest().ListInstruments(cli.Call().get(), list_instruments, &instruments);
          !s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
        return ReportFailure("ListInstruments", s);
      }
      v1::ListWavesRequest list_waves;
      list_waves.set_trial_id(trial_id);
      if (auto s = cli.survey_ingest().ListWaves(cli.Call().get(), list_waves, &waves);
          !s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
        return ReportFailure("ListWaves", s);
      }
    }
    for (const auto& file : protocol.instruments) {
      bool stored = false;
      for (const auto& i : instruments.instruments()) stored = stored || i.definition_yaml() == file.definition_yaml;
      std::cout << "instrument " << file.path << ": " << (stored ? "unchanged" : "will be put") << "\n";
      if (!stored) plan.instruments_to_put.push_back(&file), ++plan.changes;
    }
    for (const auto& wave : protocol.waves) {
      const v1::Wave* stored = nullptr;
      for (const auto& w : waves.waves()) {
        if (w.wave_id() == wave.wave_id()) stored = &w;
      }
      const bool same = stored != nullptr && google::protobuf::util::MessageDifferencer::Equals(*stored, wave);
      std::cout << "wave " << wave.wave_id() << ": " << (same ? "unchanged" : stored ? "will be updated" : "will be put") << "\n";
      if (!same) plan.waves_to_put.push_back(&wave), ++plan.changes;
    }
  }
  if (protocol.lock_design && !plan.design_locked) std::cout << "design: will be locked\n", ++plan.changes;

  // Templates cannot be read back; saving identical content adds no version (the service
  // compares), so they are saved every time and reported with the version they have.
  for (const auto& t : protocol.templates) std::cout << "template " << t.id << ": will be saved (a new version only if its content changed)\n";
  for (const auto& campaign : protocol.campaigns) {
    v1::GetCampaignStatusRequest request;
    request.set_trial_id(trial_id);
    request.set_campaign_id(campaign.campaign_id());
    v1::GetCampaignStatusResponse status;
    const grpc::Status s = cli.messaging().GetCampaignStatus(cli.Call().get(), request, &status);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return ReportFailure("GetCampaignStatus " + campaign.campaign_id(), s);
    if (!s.ok()) {
      std::cout << "campaign " << campaign.campaign_id() << ": will be created (as a draft; start it with fieldwork campaign start)\n";
      plan.campaigns_to_create.push_back(&campaign);
      ++plan.changes;
      continue;
    }
    const std::vector<std::string> differences = Differences(status.campaign(), campaign);
    if (differences.empty()) {
      std::cout << "campaign " << campaign.campaign_id() << ": unchanged\n";
      continue;
    }
    // MessagingService keeps a campaign's definition once created (its sends are planned from
    // it): a change is a new campaign under a new id.
    std::cout << "campaign " << campaign.campaign_id()
              << ": exists with a different definition and cannot be changed (create it under a new id); refusing these changes:\n";
    for (const std::string& d : differences) std::cout << "  " << d << "\n";
    plan.refused = true;
  }

  for (const v1::AnalysisPlan& wanted : protocol.plans) {
    ApplyPlan::PlanChange& change = plan.plans.emplace_back();
    change.wanted = &wanted;
    v1::GetPlanRequest request;
    request.set_trial_id(trial_id);
    request.set_plan_id(wanted.plan_id());
    v1::GetPlanResponse stored;
    const grpc::Status s = cli.analysis().GetPlan(cli.Call().get(), request, &stored);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return ReportFailure("GetPlan", s);
    change.exists = s.ok();
    change.locked = change.exists && stored.record().state() == v1::PLAN_STATE_LOCKED;
    if (change.exists) change.differences = Differences(stored.record().plan(), wanted);
    std::cout << "analysis plan " << wanted.plan_id() << ": ";
    if (!change.exists) {
      std::cout << "will be registered\n";
      ++plan.changes;
    } else if (change.differences.empty()) {
      std::cout << "unchanged" << (change.locked ? " (locked)" : "") << "\n";
    } else {
      // A locked plan changes only as a recorded deviation, with the reason the caller gives.
      const bool deviation = change.locked && !options.deviation_reason.empty();
      std::cout << (!change.locked ? "changes:\n"
                    : deviation     ? "is LOCKED; these changes will be recorded as a deviation (\"" + options.deviation_reason + "\"):\n"
                                    : "is LOCKED (pre-registered); refusing these changes (--deviation_reason=WHY records them as a deviation):\n");
      for (const std::string& d : change.differences) std::cout << "  " << d << "\n";
      plan.refused |= change.locked && !deviation;
      ++plan.changes;
    }
    if (protocol.lock_plan && !change.locked) std::cout << "analysis plan " << wanted.plan_id() << ": will be locked\n", ++plan.changes;
  }
  return std::nullopt;
}

// One write of an apply: `run` makes the call and prints what it did; `what` names the call.
struct Write {
  std::string what;
  std::function<grpc::Status()> run;
};

// Runs `writes` in order. The protocol was validated, so a refusal here means the services
// changed under the apply (or hold a rule the validation does not know): the account of what
// was and was not written lets the researcher see where the trial stands.
int RunWrites(const std::vector<Write>& writes) {
  for (size_t i = 0; i < writes.size(); ++i) {
    const grpc::Status s = writes[i].run();
    if (s.ok()) continue;
    const int code = ReportFailure(writes[i].what, s);
    std::vector<std::string> written, not_written;
    for (size_t j = 0; j < writes.size(); ++j) (j < i ? written : not_written).push_back(writes[j].what);
    std::cerr << "fieldwork: apply stopped at " << writes[i].what << "\n"
              << "  written: " << (written.empty() ? "nothing" : absl::StrJoin(written, ", ")) << "\n"
              << "  not written: " << absl::StrJoin(not_written, ", ") << "\n"
              << "fieldwork: once the cause is fixed, apply again: it writes only what is still missing\n";
    return code;
  }
  return kOk;
}

}  // namespace

int Apply(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (!Usage(args, 1, "apply PROTOCOL.yaml [--dry_run]")) return kUsage;
  // The same validation for a dry run and a real apply, before any service is asked anything.
  absl::StatusOr<Protocol> protocol = LoadProtocol(args[0]);
  if (!protocol.ok()) {
    std::cerr << protocol.status().message() << "\nfieldwork: " << args[0] << " was not applied: nothing was changed\n";
    return kUsage;
  }
  const std::string& trial_id = protocol->design.trial_id();
  for (const ProtocolProblem& w : ProtocolWarnings(*protocol)) {
    std::cerr << args[0] << ": warning: " << w.field << " " << w.reason << "\n";
  }

  ApplyPlan plan;
  if (std::optional<int> failed = PlanApply(cli, *protocol, options, plan)) return *failed;
  if (plan.refused) {
    std::cout << "refused: nothing was changed\n";
    return kRejected;
  }
  if (plan.changes == 0) {
    std::cout << "nothing to change: the services already hold this protocol"
              << (protocol->templates.empty() ? "" : " (templates are saved again; unchanged content adds no version)") << "\n";
  }
  if (options.dry_run) {
    std::cout << "dry run: nothing was changed\n";
    return kOk;
  }

  // The writes in order. Each prints what it did; `what` names it if the apply stops there.
  std::vector<Write> writes;
  const Protocol& p = *protocol;
  if (!plan.trial_exists) {
    writes.push_back({"CreateTrial " + trial_id, [&] {
      v1::CreateTrialRequest create;
      *create.mutable_design() = p.design;
      v1::CreateTrialResponse created;
      grpc::Status s = cli.randomisation().CreateTrial(cli.Call().get(), create, &created);
      if (s.ok()) {
        std::cout << "created trial " << trial_id << "; secret commitment (publish it in the pre-registration): "
                  << created.trial().secret_commitment() << "\n";
      }
      return s;
    }});
  } else if (!plan.design_differences.empty()) {
    writes.push_back({"UpdateDesign " + trial_id, [&] {
      v1::UpdateDesignRequest update;
      *update.mutable_design() = p.design;
      v1::UpdateDesignResponse updated;
      grpc::Status s = cli.randomisation().UpdateDesign(cli.Call().get(), update, &updated);
      if (s.ok()) std::cout << "updated the design of " << trial_id << "\n";
      return s;
    }});
  }
  for (const Protocol::InstrumentFile* file : plan.instruments_to_put) {
    writes.push_back({"PutInstrument " + file->path, [&, file] {
      v1::PutInstrumentRequest put;
      put.set_trial_id(trial_id);
      put.mutable_instrument()->set_definition_yaml(file->definition_yaml);
      v1::PutInstrumentResponse instrument;
      grpc::Status s = cli.survey_ingest().PutInstrument(cli.Call().get(), put, &instrument);
      if (s.ok()) std::cout << "instrument " << instrument.instrument().instrument_id() << " v" << instrument.instrument().version() << ": ok\n";
      return s;
    }});
  }
  for (const v1::Wave* wave : plan.waves_to_put) {
    writes.push_back({"PutWave " + wave->wave_id(), [&, wave] {
      v1::PutWaveRequest put;
      *put.mutable_wave() = *wave;
      v1::PutWaveResponse done;
      grpc::Status s = cli.survey_ingest().PutWave(cli.Call().get(), put, &done);
      if (s.ok()) std::cout << "wave " << wave->wave_id() << ": ok\n";
      return s;
    }});
  }
  if (p.lock_design && !plan.design_locked) {
    writes.push_back({"LockDesign " + trial_id, [&] {
      v1::LockDesignRequest lock;
      lock.set_trial_id(trial_id);
      v1::LockDesignResponse response;
      grpc::Status s = cli.randomisation().LockDesign(cli.Call().get(), lock, &response);
      if (s.ok()) std::cout << "locked the design; sha256 " << response.design_sha256() << "\n";
      return s;
    }});
  }
  for (const Protocol::Template& t : p.templates) {
    writes.push_back({"UpdateTemplate " + t.id, [&, tmpl = &t] {
      v1::UpdateTemplateRequest update;
      update.set_trial_id(trial_id);
      update.set_template_id(tmpl->id);
      *update.mutable_content() = tmpl->content;
      v1::UpdateTemplateResponse saved;
      grpc::Status s = cli.messaging().UpdateTemplate(cli.Call().get(), update, &saved);
      if (s.ok()) std::cout << "template " << tmpl->id << ": v" << saved.version() << "\n";
      return s;
    }});
  }
  for (const v1::CampaignDefinition* campaign : plan.campaigns_to_create) {
    writes.push_back({"CreateCampaign " + campaign->campaign_id(), [&, campaign] {
      v1::CreateCampaignRequest create;
      create.set_trial_id(trial_id);
      *create.mutable_campaign() = *campaign;
      v1::CreateCampaignResponse created;
      grpc::Status s = cli.messaging().CreateCampaign(cli.Call().get(), create, &created);
      if (s.ok()) {
        std::cout << "campaign " << campaign->campaign_id() << ": created (" << campaign->steps_size()
                  << (campaign->steps_size() == 1 ? " step)\n" : " steps)\n");
      }
      return s;
    }});
  }
  for (const ApplyPlan::PlanChange& change : plan.plans) {
    const v1::AnalysisPlan* wanted = change.wanted;
    const bool plan_locked = change.locked;
    if (!change.exists || !change.differences.empty()) {
      writes.push_back({"RegisterPlan " + wanted->plan_id(), [&, wanted, plan_locked] {
        v1::RegisterPlanRequest request;
        *request.mutable_plan() = *wanted;
        if (plan_locked) request.set_deviation_reason(options.deviation_reason);
        v1::RegisterPlanResponse registered;
        grpc::Status s = cli.analysis().RegisterPlan(cli.Call().get(), request, &registered);
        if (!s.ok()) return s;
        std::cout << "analysis plan " << wanted->plan_id() << ": registered, version " << registered.record().version() << "\n";
        if (plan_locked && registered.record().deviations_size() > 0) {
          const v1::Deviation& d = registered.record().deviations(registered.record().deviations_size() - 1);
          std::cout << "recorded deviation " << d.sequence() << " (" << absl::StrJoin(d.changed_fields(), ", ")
                    << "); plan sha256 " << d.plan_sha256_after() << "\n";
        }
        return s;
      }});
    }
    if (p.lock_plan && !plan_locked) {
      writes.push_back({"LockPlan " + wanted->plan_id(), [&, wanted] {
        v1::LockPlanRequest lock;
        lock.set_trial_id(trial_id);
        lock.set_plan_id(wanted->plan_id());
        v1::LockPlanResponse locked;
        grpc::Status s = cli.analysis().LockPlan(cli.Call().get(), lock, &locked);
        if (s.ok()) std::cout << "locked the analysis plan " << wanted->plan_id() << "; sha256 " << locked.record().locked_sha256() << "\n";
        return s;
      }});
    }
  }
  return RunWrites(writes);
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
  request.set_paged(true);
  auto context = cli.Call();
  auto reader = cli.randomisation().ListAllocations(context.get(), request);
  v1::ListAllocationsResponse message;
  bool header = false;
  auto write_row = [&](const v1::Allocation& a) {
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
  };
  while (reader->Read(&message)) {
    ForEachListed(message.has_allocation() ? message.mutable_allocation() : nullptr,
                  *message.mutable_allocations(), write_row);
  }
  if (auto s = reader->Finish(); !s.ok()) return ReportFailure("ListAllocations", s);
  return kOk;
}

}  // namespace fieldwork::cli
