// Every RPC of every service, called as every kind of caller, against the four real service
// binaries over real gRPC: who may call what is read from one table (kMatrix below), and the
// test fails when a service gains an RPC without a row. The rule itself is in
// services/common/access.h.
//
// Callers: no token, a garbage token, admin, each non-admin role alone on the trial (all
// sites), a token of every role scoped to another trial, and tokens of every role scoped to
// one site of the trial: the site of the participant each call names ("own site") and the
// other site ("other site").
#include <google/protobuf/descriptor.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/analysis.grpc.pb.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/grpc_auth.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::testing {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kTrial[] = "alpha";
// A trial every in-trial token may also touch but nobody created: calls that would end alpha
// (close it, reveal its secret) are made on it, so the matrix changes nothing that matters.
constexpr char kSpare[] = "gamma";
// Site names long enough that a denial naming one would be caught.
constexpr char kNorth[] = "north-district";
constexpr char kSouth[] = "south-district";
// Enrolled at kNorth, allocated, with a response, an outcome and a contact.
constexpr char kParticipant[] = "p-north-1";

enum Caller {
  kNoToken,
  kGarbage,
  kAdmin,
  kResearcher,
  kPartner,
  kAnalyst,
  kOtherTrial,
  kOwnSite,
  kOtherSite,
};
const std::vector<Caller> kCallers = {kNoToken, kGarbage,    kAdmin,   kResearcher, kPartner,
                                      kAnalyst, kOtherTrial, kOwnSite, kOtherSite};

std::string CallerName(Caller caller) {
  static const char* const kNames[] = {"no token", "garbage token", "admin",
                                       "researcher", "partner", "analyst",
                                       "other trial", "own site", "other site"};
  return kNames[caller];
}

// The token each caller sends ("" sends none).
std::string TokenOf(Caller caller) {
  if (caller == kNoToken) return "";
  if (caller == kGarbage) return "not-a-token-anyone-was-given";
  return absl::StrCat("token-", static_cast<int>(caller));
}

// What a call returned: its status and, for a list, how many items it carried.
struct Outcome {
  grpc::Status status;
  int items = -1;
};

struct Stubs {
  std::unique_ptr<v1::RandomisationService::Stub> randomisation;
  std::unique_ptr<v1::SurveyIngestService::Stub> ingest;
  std::unique_ptr<v1::MessagingService::Stub> messaging;
  std::unique_ptr<v1::AnalysisService::Stub> analysis;
};

using Call = std::function<Outcome(Stubs&, grpc::ClientContext&)>;

// Who may call: every caller not listed is refused (UNAUTHENTICATED without a valid token,
// PERMISSION_DENIED otherwise).
// - kAllowed: not refused (the call may still fail on its content: that is not the matrix's
//   business);
// - kSeesNothing: answered, but a list without an item (every participant is at north);
// - kSeesData: answered with at least one item.
enum Expect { kAllowed, kSeesNothing, kSeesData };

// How a call meets the site scope (services/common/access.h), which decides what the own-site
// and other-site callers get.
enum Scope {
  kWholeTrial,   // acts on every site at once: both refused
  kTrialInfo,    // the trial's own description, no participant data: both allowed
  kOneParticipant,  // names the north participant: own site allowed, other site refused
  kList,         // lists participants' data: own site sees it, other site sees nothing
  kListMaybeEmpty,  // as kList, for a list the fixture leaves empty
};

struct Row {
  std::string method;  // "fieldwork.v1.Service/Method"
  std::map<Caller, Expect> allowed;
  Call call;
};

// The callers allowed: admin, the unscoped `roles`, and the site-scoped callers as `scope`
// says (they hold every non-admin role).
std::map<Caller, Expect> Roles(std::initializer_list<Caller> roles, Scope scope) {
  const Expect unscoped = scope == kList ? kSeesData : kAllowed;
  std::map<Caller, Expect> allowed = {{kAdmin, unscoped}};
  for (Caller role : roles) allowed[role] = unscoped;
  switch (scope) {
    case kWholeTrial:
      break;
    case kTrialInfo:
      allowed[kOwnSite] = allowed[kOtherSite] = kAllowed;
      break;
    case kOneParticipant:
      allowed[kOwnSite] = kAllowed;
      break;
    case kList:
      allowed[kOwnSite] = kSeesData;
      allowed[kOtherSite] = kSeesNothing;
      break;
    case kListMaybeEmpty:
      allowed[kOwnSite] = kAllowed;
      allowed[kOtherSite] = kSeesNothing;
      break;
  }
  return allowed;
}

template <typename Response, typename Reader>
Outcome Drain(Reader reader) {
  Outcome outcome;
  outcome.items = 0;
  Response message;
  while (reader->Read(&message)) ++outcome.items;
  outcome.status = reader->Finish();
  return outcome;
}

v1::Participant NorthParticipant(const std::string& id, const std::string& site = kNorth) {
  v1::Participant p;
  p.set_participant_id(id);
  p.set_site(site);
  return p;
}

v1::Submission Answer(const std::string& participant, const std::string& submission_id) {
  v1::Submission s;
  s.set_trial_id(kTrial);
  s.set_wave_id("baseline");
  s.set_participant_id(participant);
  s.set_submission_id(submission_id);
  (*s.mutable_answers())["mot_enjoy"] = "5";
  s.set_finished(true);
  s.set_progress(100);
  return s;
}

v1::Outcome Absence(const std::string& participant) {
  v1::Outcome o;
  o.set_trial_id(kTrial);
  o.set_participant_id(participant);
  o.set_outcome("absence_days");
  o.mutable_period_start()->set_year(2026);
  o.mutable_period_start()->set_month(1);
  o.mutable_period_start()->set_day(1);
  o.mutable_period_end()->set_year(2026);
  o.mutable_period_end()->set_month(3);
  o.mutable_period_end()->set_day(31);
  o.set_value(2);
  return o;
}

// A row's call: a request of the RPC's type, filled by `fill`, sent as the caller.
#define UNARY(stub, Method, fill)                                     \
  [](Stubs& s, grpc::ClientContext& context) {                        \
    v1::Method##Request request;                                       \
    fill;                                                              \
    v1::Method##Response response;                                     \
    return Outcome{s.stub->Method(&context, request, &response)};     \
  }
#define LIST(stub, Method, fill)                                                   \
  [](Stubs& s, grpc::ClientContext& context) {                                     \
    v1::Method##Request request;                                                    \
    fill;                                                                           \
    return Drain<v1::Method##Response>(s.stub->Method(&context, request));          \
  }

std::vector<Row> Matrix() {
  return {
      // ---- randomisation ----------------------------------------------------------------
      {"fieldwork.v1.RandomisationService/CreateTrial", Roles({kResearcher}, kWholeTrial),
       UNARY(randomisation, CreateTrial, request.mutable_design()->set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/UpdateDesign", Roles({kResearcher}, kWholeTrial),
       UNARY(randomisation, UpdateDesign, request.mutable_design()->set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/GetTrial",
       Roles({kResearcher, kPartner, kAnalyst}, kTrialInfo),
       UNARY(randomisation, GetTrial, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/ListTrials",
       // Lists only the trials the caller may touch (checked in its own test below).
       {{kAdmin, kAllowed}, {kResearcher, kAllowed}, {kPartner, kAllowed}, {kAnalyst, kAllowed},
        {kOtherTrial, kAllowed}, {kOwnSite, kAllowed}, {kOtherSite, kAllowed}},
       UNARY(randomisation, ListTrials, (void)request)},
      {"fieldwork.v1.RandomisationService/LockDesign", Roles({kResearcher}, kWholeTrial),
       UNARY(randomisation, LockDesign, request.set_trial_id(kSpare))},
      {"fieldwork.v1.RandomisationService/CloseTrial", Roles({kResearcher}, kWholeTrial),
       UNARY(randomisation, CloseTrial, request.set_trial_id(kSpare))},
      {"fieldwork.v1.RandomisationService/Enrol", Roles({kResearcher, kPartner}, kOneParticipant),
       // A north row: the south-scoped caller may not enrol into north.
       [](Stubs& s, grpc::ClientContext& context) {
         v1::EnrolRequest request;
         request.set_trial_id(kTrial);
         *request.add_participants() = NorthParticipant("p-north-3");
         v1::EnrolResponse response;
         return Outcome{s.randomisation->Enrol(&context, request, &response)};
       }},
      {"fieldwork.v1.RandomisationService/EnrolStream", Roles({kResearcher, kPartner}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::EnrolResponse response;
         auto writer = s.randomisation->EnrolStream(&context, &response);
         v1::EnrolRequest request;
         request.set_trial_id(kTrial);
         *request.add_participants() = NorthParticipant("p-north-3");
         writer->Write(request);
         writer->WritesDone();
         return Outcome{writer->Finish()};
       }},
      {"fieldwork.v1.RandomisationService/Randomise", Roles({kResearcher}, kWholeTrial),
       UNARY(randomisation, Randomise, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/AllocateNext", Roles({kResearcher}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::AllocateNextRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id(kParticipant);
         v1::AllocateNextResponse response;
         return Outcome{s.randomisation->AllocateNext(&context, request, &response)};
       }},
      {"fieldwork.v1.RandomisationService/GetAllocation", Roles({kResearcher, kAnalyst}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::GetAllocationRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id(kParticipant);
         v1::GetAllocationResponse response;
         return Outcome{s.randomisation->GetAllocation(&context, request, &response)};
       }},
      {"fieldwork.v1.RandomisationService/ListAllocations",
       Roles({kResearcher, kAnalyst}, kList),
       LIST(randomisation, ListAllocations, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/GetParticipant",
       Roles({kResearcher, kPartner, kAnalyst}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::GetParticipantRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id(kParticipant);
         v1::GetParticipantResponse response;
         return Outcome{s.randomisation->GetParticipant(&context, request, &response)};
       }},
      // With arms; without them partners may ask too (BatchLookupsAreScopedAsSingleOnes).
      {"fieldwork.v1.RandomisationService/GetParticipants",
       Roles({kResearcher, kAnalyst}, kOneParticipant),
       UNARY(randomisation, GetParticipants, request.set_trial_id(kTrial);
             request.add_participant_ids(kParticipant); request.set_include_allocations(true))},
      {"fieldwork.v1.RandomisationService/ListParticipants",
       Roles({kResearcher, kPartner, kAnalyst}, kList),
       LIST(randomisation, ListParticipants, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/Withdraw", Roles({kResearcher, kPartner}, kOneParticipant),
       // p-north-2: the one the other tests do not read.
       [](Stubs& s, grpc::ClientContext& context) {
         v1::WithdrawRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id("p-north-2");
         request.set_reason("matrix");
         v1::WithdrawResponse response;
         return Outcome{s.randomisation->Withdraw(&context, request, &response)};
       }},
      {"fieldwork.v1.RandomisationService/RecordLeaver", Roles({kResearcher, kPartner}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::RecordLeaverRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id("p-north-2");
         v1::RecordLeaverResponse response;
         return Outcome{s.randomisation->RecordLeaver(&context, request, &response)};
       }},
      {"fieldwork.v1.RandomisationService/Balance", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(randomisation, Balance, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/AuditLog", Roles({kResearcher, kAnalyst}, kWholeTrial),
       LIST(randomisation, AuditLog, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/VerifyAuditLog", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(randomisation, VerifyAuditLog, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/GetAuditHead", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(randomisation, GetAuditHead, request.set_trial_id(kTrial))},
      {"fieldwork.v1.RandomisationService/RevealSecret", Roles({}, kWholeTrial),
       UNARY(randomisation, RevealSecret, request.set_trial_id(kSpare))},

      // ---- survey-ingest ----------------------------------------------------------------
      {"fieldwork.v1.SurveyIngestService/PutInstrument", Roles({kResearcher}, kWholeTrial),
       UNARY(ingest, PutInstrument, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ListInstruments",
       Roles({kResearcher, kPartner, kAnalyst}, kTrialInfo),
       UNARY(ingest, ListInstruments, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/PutWave", Roles({kResearcher}, kWholeTrial),
       UNARY(ingest, PutWave, request.mutable_wave()->set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ListWaves", Roles({kResearcher, kPartner, kAnalyst}, kTrialInfo),
       UNARY(ingest, ListWaves, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/SubmitResponse",
       // Per row: another site's participant is a rejected row, not an RPC error
       // (SubmissionsForAnotherSiteAreRefused below).
       Roles({kResearcher, kPartner}, kTrialInfo),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::SubmitResponseRequest request;
         *request.mutable_submission() = Answer(kParticipant, "matrix-unary");
         request.mutable_submission()->clear_answers();  // rejected by the domain
         v1::SubmitResponseResponse response;
         return Outcome{s.ingest->SubmitResponse(&context, request, &response)};
       }},
      {"fieldwork.v1.SurveyIngestService/SubmitResponses", Roles({kResearcher, kPartner}, kTrialInfo),
       // Another site's participant is a rejected row, as for SubmitResponse.
       [](Stubs& s, grpc::ClientContext& context) {
         v1::SubmitResponsesResponse response;
         auto writer = s.ingest->SubmitResponses(&context, &response);
         v1::SubmitResponsesRequest request;
         *request.mutable_submission() = Answer(kParticipant, "matrix-stream");
         request.mutable_submission()->clear_answers();  // rejected by the domain
         writer->Write(request);
         writer->WritesDone();
         return Outcome{writer->Finish()};
       }},
      {"fieldwork.v1.SurveyIngestService/ImportCsv", Roles({kResearcher, kPartner}, kTrialInfo),
       UNARY(ingest, ImportCsv, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/RecordOutcomes", Roles({kResearcher, kPartner}, kTrialInfo),
       UNARY(ingest, RecordOutcomes, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ReplayRejects", Roles({kResearcher}, kWholeTrial),
       UNARY(ingest, ReplayRejects, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ListResponses",
       Roles({kResearcher, kAnalyst}, kList),
       LIST(ingest, ListResponses, request.set_trial_id(kTrial); request.set_wave_id("baseline"))},
      {"fieldwork.v1.SurveyIngestService/GetResponseStatus", Roles({kResearcher, kAnalyst}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::GetResponseStatusRequest request;
         request.set_trial_id(kTrial);
         request.set_wave_id("baseline");
         request.set_participant_id(kParticipant);
         v1::GetResponseStatusResponse response;
         return Outcome{s.ingest->GetResponseStatus(&context, request, &response)};
       }},
      {"fieldwork.v1.SurveyIngestService/GetResponseStatuses",
       Roles({kResearcher, kAnalyst}, kOneParticipant),
       UNARY(ingest, GetResponseStatuses, request.set_trial_id(kTrial);
             request.set_wave_id("baseline"); request.add_participant_ids(kParticipant))},
      {"fieldwork.v1.SurveyIngestService/ListOutcomes",
       Roles({kResearcher, kAnalyst}, kList),
       LIST(ingest, ListOutcomes, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ResponseCounts", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(ingest, ResponseCounts, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/GetDataVersion",
       Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(ingest, GetDataVersion, request.set_trial_id(kTrial))},
      // Participant ids without their sites: whole-trial callers only.
      {"fieldwork.v1.SurveyIngestService/ListFormProgress", Roles({kResearcher, kAnalyst}, kWholeTrial),
       LIST(ingest, ListFormProgress, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ListRespondents", Roles({kResearcher, kAnalyst}, kWholeTrial),
       LIST(ingest, ListRespondents, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/ListRejects",
       // The other site's caller sees the rows it submitted above (north's participant, which
       // read as an unknown one: bad_input_test.cc checks their content), nothing else.
       [] {
         std::map<Caller, Expect> allowed = Roles({kResearcher, kPartner, kAnalyst}, kListMaybeEmpty);
         allowed[kOtherSite] = kAllowed;
         return allowed;
       }(),
       LIST(ingest, ListRejects, request.set_trial_id(kTrial))},
      {"fieldwork.v1.SurveyIngestService/DismissReject", Roles({}, kWholeTrial),
       UNARY(ingest, DismissReject, request.set_trial_id(kTrial); request.set_reject_id("none");
             request.set_reason("matrix"))},

      // ---- messaging --------------------------------------------------------------------
      {"fieldwork.v1.MessagingService/UpsertContacts", Roles({kResearcher, kPartner}, kOneParticipant),
       [](Stubs& s, grpc::ClientContext& context) {
         v1::UpsertContactsRequest request;
         request.set_trial_id(kTrial);
         v1::Contact* contact = request.add_contacts();
         contact->set_participant_id(kParticipant);
         contact->set_email("p-north-1@example.org");
         v1::UpsertContactsResponse response;
         return Outcome{s.messaging->UpsertContacts(&context, request, &response)};
       }},
      {"fieldwork.v1.MessagingService/OptOut", Roles({kResearcher, kPartner}, kOneParticipant),
       // Scope unspecified: refused by the domain after the access check, nothing recorded.
       [](Stubs& s, grpc::ClientContext& context) {
         v1::OptOutRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id(kParticipant);
         v1::OptOutResponse response;
         return Outcome{s.messaging->OptOut(&context, request, &response)};
       }},
      {"fieldwork.v1.MessagingService/Forget", Roles({kResearcher, kPartner}, kOneParticipant),
       // Names a participant of the own site without contacts (the matrix must not erase
       // p-north-1's).
       [](Stubs& s, grpc::ClientContext& context) {
         v1::ForgetRequest request;
         request.set_trial_id(kTrial);
         request.set_participant_id("p-north-2");
         v1::ForgetResponse response;
         return Outcome{s.messaging->Forget(&context, request, &response)};
       }},
      {"fieldwork.v1.MessagingService/UpdateTemplate", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, UpdateTemplate, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/CreateCampaign", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, CreateCampaign, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/StartCampaign", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, StartCampaign, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/PauseCampaign", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, PauseCampaign, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/ResumeCampaign", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, ResumeCampaign, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/CancelCampaign", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, CancelCampaign, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/GetCampaignStatus", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(messaging, GetCampaignStatus, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/ListEvents", Roles({kResearcher, kAnalyst}, kWholeTrial),
       LIST(messaging, ListEvents, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/GetEngagementVersion",
       Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(messaging, GetEngagementVersion, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/ListDeadLetters", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, ListDeadLetters, request.set_trial_id(kTrial))},
      {"fieldwork.v1.MessagingService/RetryDeadLetters", Roles({kResearcher}, kWholeTrial),
       UNARY(messaging, RetryDeadLetters, request.set_trial_id(kTrial))},

      // ---- analysis ---------------------------------------------------------------------
      {"fieldwork.v1.AnalysisService/RegisterPlan", Roles({kResearcher}, kWholeTrial),
       UNARY(analysis, RegisterPlan, request.mutable_plan()->set_trial_id(kTrial))},
      {"fieldwork.v1.AnalysisService/LockPlan", Roles({kResearcher}, kWholeTrial),
       UNARY(analysis, LockPlan, request.set_trial_id(kTrial))},
      {"fieldwork.v1.AnalysisService/GetPlan", Roles({kResearcher, kAnalyst}, kTrialInfo),
       UNARY(analysis, GetPlan, request.set_trial_id(kTrial))},
      {"fieldwork.v1.AnalysisService/ListPlans", Roles({kResearcher, kAnalyst}, kTrialInfo),
       UNARY(analysis, ListPlans, request.set_trial_id(kTrial))},
      {"fieldwork.v1.AnalysisService/Analyse", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(analysis, Analyse, request.set_trial_id(kTrial))},
      {"fieldwork.v1.AnalysisService/SummariseTrial", Roles({kResearcher, kAnalyst}, kWholeTrial),
       UNARY(analysis, SummariseTrial, request.set_trial_id(kTrial))},
      {"fieldwork.v1.AnalysisService/Power",
       // A calculation on the caller's own numbers: any valid token.
       {{kAdmin, kAllowed}, {kResearcher, kAllowed}, {kPartner, kAllowed}, {kAnalyst, kAllowed},
        {kOtherTrial, kAllowed}, {kOwnSite, kAllowed}, {kOtherSite, kAllowed}},
       UNARY(analysis, Power, (void)request)},
      {"fieldwork.v1.AnalysisService/ExportDataset", Roles({kResearcher, kAnalyst}, kWholeTrial),
       LIST(analysis, ExportDataset, request.set_trial_id(kTrial))},
  };
}

// The four binaries on one redis-server, with a token for every caller kind.
class Suite {
 public:
  Suite() {
    const std::string dir = dir_.path();
    std::string tokens = "tokens:\n";
    auto add = [&](Caller caller, const std::string& roles, const std::string& trials,
                   const std::string& sites) {
      absl::StrAppend(&tokens, "  - name: ", absl::StrCat("caller-", static_cast<int>(caller)),
                      "\n    sha256: ", HashToken(TokenOf(caller)), "\n    roles: [", roles,
                      "]\n    trials: [", trials, "]\n", sites.empty() ? "" : "    sites: [",
                      sites, sites.empty() ? "" : "]\n");
    };
    add(kAdmin, "admin", "\"*\"", "");
    const std::string trials = absl::StrCat(kTrial, ", ", kSpare);
    add(kResearcher, "researcher", trials, "");
    add(kPartner, "partner", trials, "");
    add(kAnalyst, "analyst", trials, "");
    add(kOtherTrial, "researcher, partner, analyst", "beta", "");
    add(kOwnSite, "researcher, partner, analyst", trials, kNorth);
    add(kOtherSite, "researcher, partner, analyst", trials, kSouth);
    absl::StrAppend(&tokens, "  - name: services\n    sha256: ", HashToken(kServiceToken),
                    "\n    roles: [analyst]\n    trials: [\"*\"]\n");
    WriteFile(dir + "/tokens.yaml", tokens);
    WriteFile(dir + "/service.token", absl::StrCat(kServiceToken, "\n"));
    WriteFile(dir + "/contact.key", std::string(64, 'a') + "\n");
    WriteFile(dir + "/link.key", std::string(64, 'b') + "\n");

    const std::string randomisation = Address(), ingest = Address(), messaging = Address(),
                      analysis = Address();
    const std::string upstream_token = "--service_token_file=" + dir + "/service.token";
    randomisation_ = std::make_unique<ServiceProcess>("fieldwork-randomisation",
                                                      Common(randomisation), randomisation, dir);
    ingest_ = std::make_unique<ServiceProcess>(
        "fieldwork-survey-ingest",
        With(Common(ingest), {"--randomisation_address=" + randomisation, upstream_token,
                              "--http_listen_address="}),
        ingest, dir);
    messaging_ = std::make_unique<ServiceProcess>(
        "fieldwork-messaging",
        With(Common(messaging),
             {"--randomisation_address=" + randomisation, "--survey_ingest_address=" + ingest,
              upstream_token, "--contact_key_file=" + dir + "/contact.key",
              "--link_key_file=" + dir + "/link.key", "--file_channel_path=" + dir + "/out.jsonl",
              absl::StrCat("--http_port=", PickFreePort()), "--http_bind_address=127.0.0.1",
              "--link_base_url=http://127.0.0.1:1", "--worker_threads=1"}),
        messaging, dir);
    analysis_ = std::make_unique<ServiceProcess>(
        "fieldwork-analysis",
        With(Common(analysis),
             {"--randomisation_address=" + randomisation, "--survey_ingest_address=" + ingest,
              "--messaging_address=" + messaging, upstream_token, "--monitor_interval=0s"}),
        analysis, dir);
    auto channel = [](const std::string& address) {
      return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    };
    stubs_.randomisation = v1::RandomisationService::NewStub(channel(randomisation));
    stubs_.ingest = v1::SurveyIngestService::NewStub(channel(ingest));
    stubs_.messaging = v1::MessagingService::NewStub(channel(messaging));
    stubs_.analysis = v1::AnalysisService::NewStub(channel(analysis));
  }

  Stubs& stubs() { return stubs_; }

  static std::unique_ptr<grpc::ClientContext> As(Caller caller) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (caller != kNoToken) AttachBearerToken(*context, TokenOf(caller));
    return context;
  }

 private:
  static constexpr char kServiceToken[] = "matrix-service-token";

  static std::string Address() { return absl::StrCat("127.0.0.1:", PickFreePort()); }
  static std::vector<std::string> With(std::vector<std::string> args,
                                       std::vector<std::string> more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  std::vector<std::string> Common(const std::string& listen) const {
    return {"--listen_address=" + listen,
            absl::StrCat("--metrics_port=", PickFreePort()),
            "--metrics_bind_address=127.0.0.1",
            "--redis_url=" + redis_.url(),
            "--tokens_file=" + dir_.path() + "/tokens.yaml",
            "--drain_delay=0s"};
  }

  TempDir dir_;
  RedisServer redis_{RedisServerOptions{.durable = true}};
  std::unique_ptr<ServiceProcess> randomisation_, ingest_, messaging_, analysis_;
  Stubs stubs_;
};

class AuthMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite();
    Populate();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  // Trial alpha with two sites, two participants (both at north: the south-scoped caller must
  // see nothing) randomised,
  // a baseline wave with a response and an outcome for p-north-1, and its contact.
  static void Populate() {
    Stubs& s = suite_->stubs();
    auto ok = [](const grpc::Status& status, const std::string& what) {
      ASSERT_TRUE(status.ok()) << what << ": " << status.error_message();
    };
    v1::CreateTrialRequest create;
    v1::TrialDesign* design = create.mutable_design();
    design->set_trial_id(kTrial);
    design->add_sites()->set_id(kNorth);
    design->add_sites()->set_id(kSouth);
    v1::Factor* factor = design->add_factors();
    factor->set_name("intervention");
    factor->set_method(v1::RANDOMISATION_METHOD_COMPLETE);
    for (const char* arm : {"treatment", "control"}) {
      v1::Arm* a = factor->add_arms();
      a->set_name(arm);
      a->set_weight(1);
    }
    v1::CreateTrialResponse created;
    ok(s.randomisation->CreateTrial(Suite::As(kAdmin).get(), create, &created), "CreateTrial");
    v1::EnrolRequest enrol;
    enrol.set_trial_id(kTrial);
    *enrol.add_participants() = NorthParticipant(kParticipant);
    *enrol.add_participants() = NorthParticipant("p-north-2");
    v1::EnrolResponse enrolled;
    ok(s.randomisation->Enrol(Suite::As(kAdmin).get(), enrol, &enrolled), "Enrol");
    v1::LockDesignRequest lock;
    lock.set_trial_id(kTrial);
    v1::LockDesignResponse locked;
    ok(s.randomisation->LockDesign(Suite::As(kAdmin).get(), lock, &locked), "LockDesign");
    v1::RandomiseRequest randomise;
    randomise.set_trial_id(kTrial);
    v1::RandomiseResponse randomised;
    ok(s.randomisation->Randomise(Suite::As(kAdmin).get(), randomise, &randomised), "Randomise");

    v1::PutInstrumentRequest instrument;
    instrument.set_trial_id(kTrial);
    instrument.mutable_instrument()->set_definition_yaml(
        "id: motivation\nversion: 1\ntitle: Motivation\nitems:\n"
        "  - id: mot_enjoy\n    label: I enjoy the work.\n    type: likert\n    min: 1\n"
        "    max: 7\n");
    v1::PutInstrumentResponse put;
    ok(s.ingest->PutInstrument(Suite::As(kAdmin).get(), instrument, &put), "PutInstrument");
    v1::PutWaveRequest wave;
    wave.mutable_wave()->set_trial_id(kTrial);
    wave.mutable_wave()->set_wave_id("baseline");
    wave.mutable_wave()->set_instrument_id("motivation");
    wave.mutable_wave()->set_instrument_version(1);
    v1::PutWaveResponse waved;
    ok(s.ingest->PutWave(Suite::As(kAdmin).get(), wave, &waved), "PutWave");
    v1::SubmitResponseRequest submit;
    *submit.mutable_submission() = Answer(kParticipant, "setup-1");
    v1::SubmitResponseResponse submitted;
    ok(s.ingest->SubmitResponse(Suite::As(kAdmin).get(), submit, &submitted), "SubmitResponse");
    ASSERT_EQ(submitted.status(), v1::SUBMISSION_STATUS_ACCEPTED);
    v1::RecordOutcomesRequest outcomes;
    outcomes.set_trial_id(kTrial);
    *outcomes.add_outcomes() = Absence(kParticipant);
    v1::RecordOutcomesResponse recorded;
    ok(s.ingest->RecordOutcomes(Suite::As(kAdmin).get(), outcomes, &recorded), "RecordOutcomes");
    ASSERT_EQ(recorded.errors_size(), 0) << recorded.errors(0).reason();
    v1::UpsertContactsRequest contacts;
    contacts.set_trial_id(kTrial);
    v1::Contact* contact = contacts.add_contacts();
    contact->set_participant_id(kParticipant);
    contact->set_email("north-1@example.org");
    v1::UpsertContactsResponse upserted;
    ok(s.messaging->UpsertContacts(Suite::As(kAdmin).get(), contacts, &upserted), "UpsertContacts");
    ASSERT_EQ(upserted.upserted(), 1);
  }

  static Suite* suite_;
};
Suite* AuthMatrixTest::suite_ = nullptr;

bool IsRefusal(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED;
}

// Every method of the four services has a row, and no row names a method that is not there.
TEST_F(AuthMatrixTest, EveryRpcHasARow) {
  std::set<std::string> in_protos;
  for (const char* name : {"RandomisationService", "SurveyIngestService", "MessagingService",
                           "AnalysisService"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            absl::StrCat("fieldwork.v1.", name));
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      in_protos.insert(absl::StrCat(service->full_name(), "/", service->method(i)->name()));
    }
  }
  std::set<std::string> in_matrix;
  for (const Row& row : Matrix()) {
    EXPECT_TRUE(in_matrix.insert(row.method).second) << row.method << " has two rows";
  }
  for (const std::string& method : in_protos) {
    EXPECT_TRUE(in_matrix.count(method)) << method << " has no row in the auth matrix";
  }
  for (const std::string& method : in_matrix) {
    EXPECT_TRUE(in_protos.count(method)) << method << " is in the matrix but not in the protos";
  }
}

TEST_F(AuthMatrixTest, EveryCallerGetsWhatTheTableSays) {
  for (const Row& row : Matrix()) {
    for (Caller caller : kCallers) {
      SCOPED_TRACE(absl::StrCat(row.method, " as ", CallerName(caller)));
      const Outcome outcome = row.call(suite_->stubs(), *Suite::As(caller));
      const grpc::StatusCode code = outcome.status.error_code();
      auto it = row.allowed.find(caller);
      if (it == row.allowed.end()) {
        const grpc::StatusCode expected = caller == kNoToken || caller == kGarbage
                                              ? grpc::StatusCode::UNAUTHENTICATED
                                              : grpc::StatusCode::PERMISSION_DENIED;
        EXPECT_EQ(code, expected) << outcome.status.error_message();
        // A denial never names the participant's site.
        EXPECT_EQ(outcome.status.error_message().find(kNorth), std::string::npos)
            << outcome.status.error_message();
        continue;
      }
      EXPECT_FALSE(IsRefusal(code)) << outcome.status.error_message();
      if (it->second == kSeesNothing) {
        EXPECT_TRUE(outcome.status.ok()) << outcome.status.error_message();
        EXPECT_EQ(outcome.items, 0);
      } else if (it->second == kSeesData) {
        EXPECT_TRUE(outcome.status.ok()) << outcome.status.error_message();
        EXPECT_GT(outcome.items, 0);
      }
    }
  }
}

// Participant-level calls naming a north participant: the south-scoped caller is refused with
// the same words as for a participant who does not exist, naming no site.
TEST_F(AuthMatrixTest, AnotherSitesParticipantLooksLikeNoParticipant) {
  Stubs& s = suite_->stubs();
  auto get = [&](const std::string& id) {
    v1::GetParticipantRequest request;
    request.set_trial_id(kTrial);
    request.set_participant_id(id);
    v1::GetParticipantResponse response;
    return s.randomisation->GetParticipant(Suite::As(kOtherSite).get(), request, &response);
  };
  const grpc::Status other = get(kParticipant);
  const grpc::Status missing = get("p-nobody");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(other.error_message().find(kNorth), std::string::npos) << other.error_message();
  auto without_id = [](std::string text, const std::string& id) {
    return text.replace(text.find(id), id.size(), "ID");
  };
  EXPECT_EQ(without_id(other.error_message(), kParticipant),
            without_id(missing.error_message(), "p-nobody"));
}

// The batch lookups messaging makes per batch of sends are scoped as their single forms: arms
// only for researchers and analysts, and a site-scoped caller naming any participant outside
// its sites (or unknown) is refused the whole batch, in the same words as for one.
TEST_F(AuthMatrixTest, BatchLookupsAreScopedAsSingleOnes) {
  Stubs& s = suite_->stubs();
  auto participants = [&](Caller caller, std::vector<std::string> ids, bool arms,
                          v1::GetParticipantsResponse* response) {
    v1::GetParticipantsRequest request;
    request.set_trial_id(kTrial);
    for (const std::string& id : ids) request.add_participant_ids(id);
    request.set_include_allocations(arms);
    return s.randomisation->GetParticipants(Suite::As(caller).get(), request, response);
  };
  v1::GetParticipantsResponse statuses;
  ASSERT_TRUE(participants(kPartner, {kParticipant, "p-nobody"}, false, &statuses).ok());
  ASSERT_EQ(statuses.participants_size(), 2);
  EXPECT_TRUE(statuses.participants(0).enrolled());
  EXPECT_TRUE(statuses.participants(0).status().allocated());
  EXPECT_FALSE(statuses.participants(0).has_allocation());  // no arms without asking
  EXPECT_FALSE(statuses.participants(1).enrolled());
  v1::GetParticipantsResponse refused;
  EXPECT_EQ(participants(kPartner, {kParticipant}, true, &refused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetParticipantsResponse own;
  ASSERT_TRUE(participants(kOwnSite, {kParticipant, "p-north-2"}, false, &own).ok());
  EXPECT_EQ(own.participants_size(), 2);
  const grpc::Status mixed = participants(kOwnSite, {kParticipant, "p-nobody"}, false, &refused);
  EXPECT_EQ(mixed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(mixed.error_message().find("p-nobody"), std::string::npos) << mixed.error_message();
  const grpc::Status other = participants(kOtherSite, {kParticipant}, false, &refused);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(other.error_message().find(kNorth), std::string::npos) << other.error_message();
  EXPECT_EQ(refused.participants_size(), 0);

  auto responded = [&](Caller caller, std::vector<std::string> ids,
                       v1::GetResponseStatusesResponse* response) {
    v1::GetResponseStatusesRequest request;
    request.set_trial_id(kTrial);
    request.set_wave_id("baseline");
    for (const std::string& id : ids) request.add_participant_ids(id);
    return s.ingest->GetResponseStatuses(Suite::As(caller).get(), request, response);
  };
  v1::GetResponseStatusesResponse answers;
  ASSERT_TRUE(responded(kOwnSite, {kParticipant, "p-north-2"}, &answers).ok());
  ASSERT_EQ(answers.statuses_size(), 2);
  EXPECT_TRUE(answers.statuses(0).responded());  // the fixture's response
  EXPECT_FALSE(answers.statuses(1).responded());
  v1::GetResponseStatusesResponse none;
  const grpc::Status ingest_other = responded(kOtherSite, {kParticipant}, &none);
  EXPECT_EQ(ingest_other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ingest_other.error_message().find(kNorth), std::string::npos);
  EXPECT_EQ(responded(kOwnSite, {kParticipant, "p-nobody"}, &none).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(none.statuses_size(), 0);
}

// The attack that was found: a south partner storing its own address for a north
// participant. Refused, and the stored contact is untouched.
TEST_F(AuthMatrixTest, ContactsOfAnotherSiteCannotBeRedirected) {
  Stubs& s = suite_->stubs();
  v1::UpsertContactsRequest request;
  request.set_trial_id(kTrial);
  v1::Contact* contact = request.add_contacts();
  contact->set_participant_id(kParticipant);
  contact->set_email("attacker@example.org");
  v1::UpsertContactsResponse response;
  const grpc::Status status =
      s.messaging->UpsertContacts(Suite::As(kOtherSite).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(status.error_message().find(kNorth), std::string::npos);

  // Nor for a participant nobody enrolled, whoever asks: a row error for an unscoped caller.
  request.mutable_contacts(0)->set_participant_id("p-never-enrolled");
  v1::UpsertContactsResponse unknown;
  ASSERT_TRUE(s.messaging->UpsertContacts(Suite::As(kAdmin).get(), request, &unknown).ok());
  EXPECT_EQ(unknown.upserted(), 0);
  ASSERT_EQ(unknown.errors_size(), 1);
  EXPECT_EQ(unknown.errors(0).field(), "participant_id");

  for (Caller caller : {kOtherSite}) {
    v1::OptOutRequest opt_out;
    opt_out.set_trial_id(kTrial);
    opt_out.set_participant_id(kParticipant);
    opt_out.set_scope(v1::OPT_OUT_SCOPE_ALL);
    v1::OptOutResponse opted;
    EXPECT_EQ(s.messaging->OptOut(Suite::As(caller).get(), opt_out, &opted).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::ForgetRequest forget;
    forget.set_trial_id(kTrial);
    forget.set_participant_id(kParticipant);
    v1::ForgetResponse forgot;
    EXPECT_EQ(s.messaging->Forget(Suite::As(caller).get(), forget, &forgot).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // The contact is still there: forgetting it as the own site says it existed.
  v1::ForgetRequest forget;
  forget.set_trial_id(kTrial);
  forget.set_participant_id(kParticipant);
  v1::ForgetResponse forgot;
  ASSERT_TRUE(s.messaging->Forget(Suite::As(kOwnSite).get(), forget, &forgot).ok());
  EXPECT_TRUE(forgot.existed());
  // Put it back for the other tests.
  v1::UpsertContactsRequest restore;
  restore.set_trial_id(kTrial);
  restore.add_contacts()->set_participant_id(kParticipant);
  restore.mutable_contacts(0)->set_email("north-1@example.org");
  v1::UpsertContactsResponse restored;
  ASSERT_TRUE(s.messaging->UpsertContacts(Suite::As(kOwnSite).get(), restore, &restored).ok());
  EXPECT_EQ(restored.upserted(), 1);
}

TEST_F(AuthMatrixTest, SubmissionsAndOutcomesForAnotherSiteAreRefused) {
  Stubs& s = suite_->stubs();
  v1::SubmitResponseRequest submit;
  *submit.mutable_submission() = Answer(kParticipant, "south-tries");
  v1::SubmitResponseResponse submitted;
  ASSERT_TRUE(s.ingest->SubmitResponse(Suite::As(kOtherSite).get(), submit, &submitted).ok());
  EXPECT_EQ(submitted.status(), v1::SUBMISSION_STATUS_REJECTED);
  ASSERT_GT(submitted.errors_size(), 0);
  EXPECT_EQ(submitted.errors(0).reason().find(kNorth), std::string::npos);

  v1::RecordOutcomesRequest outcomes;
  outcomes.set_trial_id(kTrial);
  *outcomes.add_outcomes() = Absence(kParticipant);
  v1::RecordOutcomesResponse recorded;
  ASSERT_TRUE(s.ingest->RecordOutcomes(Suite::As(kOtherSite).get(), outcomes, &recorded).ok());
  ASSERT_EQ(recorded.errors_size(), 1);
  EXPECT_EQ(recorded.errors(0).reason().find(kNorth), std::string::npos);
}

TEST_F(AuthMatrixTest, EnrolIntoAnotherSiteIsRefused) {
  Stubs& s = suite_->stubs();
  v1::EnrolRequest enrol;
  enrol.set_trial_id(kTrial);
  *enrol.add_participants() = NorthParticipant("p-late");
  v1::EnrolResponse enrolled;
  EXPECT_EQ(s.randomisation->Enrol(Suite::As(kOtherSite).get(), enrol, &enrolled).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// A stream without a valid token is refused at its first message: the server does not read
// (and buffer) the rest. Before, all of it was read before the token was looked at.
TEST_F(AuthMatrixTest, EnrolStreamIsRefusedBeforeItsRowsAreRead) {
  Stubs& s = suite_->stubs();
  for (Caller caller : {kNoToken, kGarbage, kOtherTrial}) {
    SCOPED_TRACE(CallerName(caller));
    v1::EnrolResponse response;
    auto context = Suite::As(caller);
    auto writer = s.randomisation->EnrolStream(context.get(), &response);
    v1::EnrolRequest request;
    request.set_trial_id(kTrial);
    *request.add_participants() = NorthParticipant(std::string(1 << 20, 'x'));  // 1 MB a row
    constexpr int kMessages = 200;
    int written = 0;
    while (written < kMessages && writer->Write(request)) ++written;
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_TRUE(IsRefusal(status.error_code())) << status.error_message();
    // Flow control lets a few messages through before the refusal reaches the client; all
    // 200 MB would mean the server kept reading.
    EXPECT_LT(written, kMessages / 4);
  }
}

TEST_F(AuthMatrixTest, ListTrialsShowsOnlyTheCallersTrials) {
  Stubs& s = suite_->stubs();
  v1::ListTrialsResponse mine, theirs;
  ASSERT_TRUE(s.randomisation->ListTrials(Suite::As(kOwnSite).get(), {}, &mine).ok());
  ASSERT_TRUE(s.randomisation->ListTrials(Suite::As(kOtherTrial).get(), {}, &theirs).ok());
  EXPECT_EQ(mine.trials_size(), 1);
  EXPECT_EQ(theirs.trials_size(), 0);
}

}  // namespace
}  // namespace fieldwork::testing
