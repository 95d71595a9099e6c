// contacts, campaign start|pause|resume|status: the commands about messaging participants.
#include <iostream>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/cli/commands.h"
#include "services/cli/input_file.h"
#include "services/cli/contacts.h"
#include "services/cli/protocol.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

// Contacts go up in batches, each one call, so a long file shows progress and a failure part
// way leaves whole batches stored (every row is an idempotent replace: re-running is safe).
constexpr size_t kContactsBatch = 1'000;

void PrintContactError(const std::string& path, int64_t line, const std::string& field, const std::string& reason,
                       const std::string& value) {
  // The service's reasons may start with the field again ("phone: not an E.164 number").
  absl::string_view why = reason;
  if (!field.empty()) absl::ConsumePrefix(&why, field + ": ");
  std::cerr << path << ":" << line << ": " << (field.empty() ? "" : field + ": ") << why;
  // Addresses and numbers are personal data: never echoed, not even back to their owner's file.
  if (!value.empty() && field != "email" && field != "phone") std::cerr << " (\"" << value << "\")";
  std::cerr << "\n";
}

std::string StateName(v1::CampaignState state) {
  switch (state) {
    case v1::CAMPAIGN_STATE_DRAFT: return "draft";
    case v1::CAMPAIGN_STATE_RUNNING: return "running";
    case v1::CAMPAIGN_STATE_PAUSED: return "paused";
    case v1::CAMPAIGN_STATE_CANCELLED: return "cancelled";
    case v1::CAMPAIGN_STATE_COMPLETED: return "completed";
    default: return "unknown";
  }
}

std::string KindName(v1::CampaignKind kind) {
  switch (kind) {
    case v1::CAMPAIGN_KIND_INTERVENTION: return "intervention";
    case v1::CAMPAIGN_KIND_SURVEY_INVITATION: return "survey invitation";
    case v1::CAMPAIGN_KIND_WAITLIST: return "waitlist";
    default: return "unknown kind";
  }
}

std::string ChannelName(v1::MessageChannel channel) {
  switch (channel) {
    case v1::MESSAGE_CHANNEL_EMAIL: return "email";
    case v1::MESSAGE_CHANNEL_SMS: return "sms";
    case v1::MESSAGE_CHANNEL_PARTICIPANT_PREFERENCE: return "participant preference";
    default: return "unknown channel";
  }
}

// "+7d", "+1d12h", "+0".
std::string Offset(const google::protobuf::Duration& offset) {
  int64_t s = offset.seconds();
  if (s == 0) return "+0";
  std::string text = "+";
  if (s >= 86400) absl::StrAppend(&text, s / 86400, "d"), s %= 86400;
  if (s >= 3600) absl::StrAppend(&text, s / 3600, "h"), s %= 3600;
  if (s >= 60) absl::StrAppend(&text, s / 60, "m"), s %= 60;
  if (s > 0) absl::StrAppend(&text, s, "s");
  return text;
}

void PrintCounts(const std::string& label, const v1::StepCounts& c) {
  std::cout << absl::StrFormat("  %-22s %9d %7d %7d %6d %8d %7d %8d\n", label, c.scheduled(), c.sent(), c.failed(),
                               c.dead(), c.skipped(), c.opened(), c.clicked());
}

}  // namespace

int ImportContacts(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 2) {
    std::cerr << "usage: fieldwork contacts TRIAL CONTACTS.csv\n"
                 "  columns: participant_id, first_name, email, phone, preferred_channel (email|sms), time_zone\n";
    return kUsage;
  }
  const std::string& trial_id = args[0];
  const std::string& path = args[1];
  absl::StatusOr<std::string> csv = ReadCsvFile(path);
  if (!csv.ok()) return std::cerr << "fieldwork: " << csv.status().message() << "\n", kUsage;
  absl::StatusOr<ContactFile> contacts = ReadContacts(*csv, path);
  if (!contacts.ok()) return std::cerr << "fieldwork: " << contacts.status().message() << "\n", kUsage;
  for (const ContactError& e : contacts->errors) PrintContactError(path, e.line, e.column, e.reason, e.value);

  int64_t upserted = 0;
  int64_t rejected = static_cast<int64_t>(contacts->errors.size());
  Progress progress("contacts " + path, static_cast<int64_t>(contacts->rows.size()));
  for (size_t begin = 0; begin < contacts->rows.size(); begin += kContactsBatch) {
    const size_t end = std::min(contacts->rows.size(), begin + kContactsBatch);
    v1::UpsertContactsRequest request;
    request.set_trial_id(trial_id);
    for (size_t i = begin; i < end; ++i) *request.add_contacts() = contacts->rows[i].contact;
    v1::UpsertContactsResponse response;
    if (auto s = cli.messaging().UpsertContacts(cli.Call().get(), request, &response); !s.ok()) {
      progress.Finish();
      if (upserted > 0) std::cerr << "fieldwork: " << upserted << " contacts were stored before the failure; re-running is safe\n";
      return ReportFailure("UpsertContacts", s);
    }
    for (const auto& e : response.errors()) {
      const size_t index = begin + static_cast<size_t>(e.row() - 1);
      const int64_t line = index < end ? contacts->rows[index].line : e.row();
      PrintContactError(path, line, e.field(), e.reason(), e.value());
    }
    upserted += response.upserted();
    rejected += response.errors_size();
    progress.Update(static_cast<int64_t>(end));
  }
  progress.Finish();
  std::cout << "contacts stored " << upserted << ", rejected " << rejected << "\n";
  return rejected == 0 ? kOk : kRejected;
}

int CampaignStart(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 2) return std::cerr << "usage: fieldwork campaign start TRIAL CAMPAIGN\n", kUsage;
  v1::StartCampaignRequest request;
  request.set_trial_id(args[0]);
  request.set_campaign_id(args[1]);
  v1::StartCampaignResponse response;
  if (auto s = cli.messaging().StartCampaign(cli.Call().get(), request, &response); !s.ok()) return ReportFailure("StartCampaign", s);
  std::cout << "campaign " << args[1] << ": running; sends planned " << response.planned() << ", audience members skipped "
            << response.skipped() << "\n";
  return kOk;
}

int CampaignPause(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 2) return std::cerr << "usage: fieldwork campaign pause TRIAL CAMPAIGN\n", kUsage;
  v1::PauseCampaignRequest request;
  request.set_trial_id(args[0]);
  request.set_campaign_id(args[1]);
  v1::PauseCampaignResponse response;
  if (auto s = cli.messaging().PauseCampaign(cli.Call().get(), request, &response); !s.ok()) return ReportFailure("PauseCampaign", s);
  std::cout << "campaign " << args[1] << ": paused (unsent messages are held until resume)\n";
  return kOk;
}

int CampaignResume(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 2) return std::cerr << "usage: fieldwork campaign resume TRIAL CAMPAIGN\n", kUsage;
  v1::ResumeCampaignRequest request;
  request.set_trial_id(args[0]);
  request.set_campaign_id(args[1]);
  v1::ResumeCampaignResponse response;
  if (auto s = cli.messaging().ResumeCampaign(cli.Call().get(), request, &response); !s.ok()) return ReportFailure("ResumeCampaign", s);
  std::cout << "campaign " << args[1] << ": resumed\n";
  return kOk;
}

int CampaignStatus(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 2) return std::cerr << "usage: fieldwork campaign status TRIAL CAMPAIGN\n", kUsage;
  v1::GetCampaignStatusRequest request;
  request.set_trial_id(args[0]);
  request.set_campaign_id(args[1]);
  v1::GetCampaignStatusResponse status;
  if (auto s = cli.messaging().GetCampaignStatus(cli.Call().get(), request, &status); !s.ok()) return ReportFailure("GetCampaignStatus", s);
  const v1::CampaignDefinition& c = status.campaign();
  std::cout << "campaign " << c.campaign_id() << " (" << KindName(c.kind()) << ", " << ChannelName(c.channel())
            << "): " << StateName(status.state());
  if (status.has_started_at()) std::cout << ", started " << google::protobuf::util::TimeUtil::ToString(status.started_at());
  std::cout << "\n";
  const v1::Audience& a = c.audience();
  std::cout << "audience: "
            << (a.all_enrolled() ? "every enrolled participant" : absl::StrCat(a.factor(), " = ", absl::StrJoin(a.arms(), ", ")));
  if (a.sites_size() > 0) std::cout << "; sites " << absl::StrJoin(a.sites(), ", ");
  if (a.cohorts_size() > 0) std::cout << "; cohorts " << absl::StrJoin(a.cohorts(), ", ");
  if (!c.wave_id().empty()) std::cout << "; wave " << c.wave_id();
  std::cout << "\n";
  std::cout << absl::StrFormat("  %-22s %9s %7s %7s %6s %8s %7s %8s\n", "step / arm", "scheduled", "sent", "failed",
                               "dead", "skipped", "opened", "clicked");
  for (const v1::StepCounts& step : status.steps()) {
    std::string label = absl::StrCat(step.step());
    if (step.step() >= 0 && step.step() < c.steps_size()) {
      const v1::CampaignStep& s = c.steps(step.step());
      label = absl::StrCat(step.step(), " ", s.template_id(), " ", Offset(s.offset()), s.reminder() ? " (r)" : "");
    }
    PrintCounts(label, step);
    for (const v1::StepCounts& arm : status.by_arm()) {
      if (arm.step() == step.step()) PrintCounts("    " + (arm.arm().empty() ? std::string("(no arm)") : arm.arm()), arm);
    }
  }
  return kOk;
}

}  // namespace fieldwork::cli
