#include "bench/survey_ingest/bench_roster.h"

#include <grpcpp/create_channel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "bench/common/bench_util.h"
#include "services/common/clock.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::bench::Check;
using ::fieldwork::bench::ContextWithToken;

constexpr int kEnrolChunk = 5000;

}  // namespace

v1::TrialDesign BenchTrialDesign(const std::string& trial) {
  v1::TrialDesign design;
  design.set_trial_id(trial);
  design.add_sites()->set_id("LA1");
  v1::Factor& factor = *design.add_factors();
  factor.set_name("intervention");
  factor.set_method(v1::RANDOMISATION_METHOD_COMPLETE);
  for (const char* arm : {"treatment", "control"}) {
    factor.add_arms()->set_name(arm);
    factor.mutable_arms(factor.arms_size() - 1)->set_weight(1);
  }
  return design;
}

BenchRoster::BenchRoster(RedisClient& redis, const Authenticator& authenticator,
                         const std::string& token, const std::string& trial, int participants)
    : store_(redis),
      metrics_(registry_),
      randomiser_(store_, RealClock::Get(), metrics_.Observer()),
      service_(randomiser_, authenticator),
      server_(std::make_unique<testing::InProcessServer>(std::vector<grpc::Service*>{&service_})) {
  auto stub = v1::RandomisationService::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  {
    v1::CreateTrialRequest request;
    *request.mutable_design() = BenchTrialDesign(trial);
    v1::CreateTrialResponse response;
    Check(stub->CreateTrial(ContextWithToken(token).get(), request, &response), "CreateTrial");
  }
  auto context = ContextWithToken(token);
  v1::EnrolResponse enrolled;
  auto writer = stub->EnrolStream(context.get(), &enrolled);
  for (int start = 0; start < participants; start += kEnrolChunk) {
    v1::EnrolRequest chunk;
    chunk.set_trial_id(trial);
    for (int i = start; i < std::min(participants, start + kEnrolChunk); ++i) {
      v1::Participant& p = *chunk.add_participants();
      p.set_participant_id(absl::StrCat("P", i));
      p.set_site("LA1");
    }
    writer->Write(chunk);
  }
  writer->WritesDone();
  Check(writer->Finish(), "EnrolStream");
}

}  // namespace fieldwork::survey_ingest
