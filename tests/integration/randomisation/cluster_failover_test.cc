// The fieldwork-randomisation binary on a real Redis Cluster (3 masters, 3 replicas) while the
// master holding the trial is killed with SIGKILL mid-enrolment and its replica takes over:
// every enrolment and allocation the service acknowledged is still there afterwards, once,
// with the arm it was acknowledged with, and the audit log still verifies.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/redis_slots.h"
#include "tests/integration/randomisation/randomisation_fixture.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_cluster.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kTrial[] = "failover";
constexpr int kParticipants = 60;
// Bounds every wait (a replica's promotion takes a few seconds with the harness's 2 s node
// timeout); nothing here is timed.
constexpr absl::Duration kPatience = absl::Seconds(90);

class ClusterFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<fieldwork::testing::RedisCluster>();
    ASSERT_FALSE(HasFatalFailure());
    const std::string tokens = dir_.path() + "/tokens.yaml";
    std::ofstream(tokens) << absl::StrCat("tokens:\n  - name: researcher\n    sha256: ",
                                          HashToken(kResearcher),
                                          "\n    roles: [researcher]\n    trials: [\"*\"]\n");
    const std::string address = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
    service_ = std::make_unique<fieldwork::testing::ServiceProcess>(
        "fieldwork-randomisation",
        std::vector<std::string>{"--listen_address=" + address,
                                 absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
                                 "--redis_url=" + cluster_->url(), "--tokens_file=" + tokens,
                                 "--drain_delay=0s"},
        address, dir_.path());
    stub_ = v1::RandomisationService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  // Calls `call` until it succeeds; a failure (UNAVAILABLE while the replica takes over) was
  // not acknowledged, so trying again is what a client does. False once kPatience is spent.
  template <typename Call>
  bool UntilAcknowledged(Call call, std::string* last_error) {
    const absl::Time give_up = absl::Now() + kPatience;
    while (absl::Now() < give_up) {
      const grpc::Status status = call();
      if (status.ok()) return true;
      ++refused_;
      *last_error = absl::StrCat(status.error_code(), ": ", status.error_message());
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  std::atomic<int> refused_{0};  // calls that failed and were tried again
  fieldwork::testing::TempDir dir_;
  std::unique_ptr<fieldwork::testing::RedisCluster> cluster_;
  std::unique_ptr<fieldwork::testing::ServiceProcess> service_;
  std::unique_ptr<v1::RandomisationService::Stub> stub_;
};

TEST_F(ClusterFailoverTest, AMasterKilledMidEnrolmentLosesNothingAcknowledged) {
  // A rolling design: each participant is enrolled and allocated at once (AllocateNext).
  v1::TrialDesign design;
  design.set_trial_id(kTrial);
  design.add_sites()->set_id("LA1");
  v1::Factor factor = TwoArms("intervention", v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS);
  factor.add_block_sizes(2);
  factor.add_block_sizes(4);
  *design.add_factors() = factor;
  std::string error;
  ASSERT_TRUE(UntilAcknowledged(
      [&] {
        v1::CreateTrialRequest request;
        *request.mutable_design() = design;
        v1::CreateTrialResponse response;
        return stub_->CreateTrial(ContextWith(kResearcher).get(), request, &response);
      },
      &error))
      << error;
  ASSERT_TRUE(UntilAcknowledged(
      [&] {
        v1::LockDesignRequest request;
        request.set_trial_id(kTrial);
        v1::LockDesignResponse response;
        return stub_->LockDesign(ContextWith(kResearcher).get(), request, &response);
      },
      &error))
      << error;

  // The enrolment runs in its own thread; the master holding the trial dies under it.
  absl::Mutex mutex;
  std::map<std::string, std::string> acknowledged_arm;  // participant -> arm, as acknowledged
  std::atomic<int> done{0};
  std::string enrol_error;
  std::thread enrolment([&] {
    for (int i = 0; i < kParticipants; ++i) {
      const std::string id = absl::StrCat("p", i);
      v1::AllocateNextResponse allocated;
      const bool ok =
          UntilAcknowledged(
              [&] {
                v1::EnrolRequest request;
                request.set_trial_id(kTrial);
                *request.add_participants() = MakeParticipant(id, "LA1");
                v1::EnrolResponse response;
                return stub_->Enrol(ContextWith(kResearcher).get(), request, &response);
              },
              &enrol_error) &&
          UntilAcknowledged(
              [&] {
                v1::AllocateNextRequest request;
                request.set_trial_id(kTrial);
                request.set_participant_id(id);
                return stub_->AllocateNext(ContextWith(kResearcher).get(), request, &allocated);
              },
              &enrol_error);
      if (!ok) return;
      {
        absl::MutexLock lock(&mutex);
        acknowledged_arm[id] = allocated.allocation().assignments(0).arm();
      }
      ++done;
    }
  });

  const uint16_t slot = RedisKeySlot(kTrial);
  fieldwork::testing::RedisServer& master = cluster_->MasterOf(slot);
  const int old_master = master.port();
  const absl::Time give_up = absl::Now() + kPatience;
  while (done < kParticipants / 3 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_GE(done.load(), kParticipants / 3) << enrol_error;
  const int acknowledged_before_the_kill = done;
  master.Kill();
  while (cluster_->MasterOf(slot).port() == old_master && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  const bool replica_took_over = cluster_->MasterOf(slot).port() != old_master;
  // The old master rejoins as the new one's replica, so writes can be confirmed (WAIT 1) again.
  master.Start();
  cluster_->AwaitHealthy();
  enrolment.join();
  ASSERT_TRUE(replica_took_over) << "no replica took over";
  ASSERT_EQ(done.load(), kParticipants) << "enrolment stopped: " << enrol_error;
  EXPECT_LT(acknowledged_before_the_kill, kParticipants) << "the kill came after the enrolment";
  std::printf("%d of %d participants acknowledged before the kill; %d calls refused and retried\n",
              acknowledged_before_the_kill, kParticipants, refused_.load());

  // Everything acknowledged is there, once, with the arm it was acknowledged with.
  std::map<std::string, std::string> stored_arm;
  int stored = 0;
  {
    v1::ListAllocationsRequest request;
    request.set_trial_id(kTrial);
    auto context = ContextWith(kResearcher);
    auto reader = stub_->ListAllocations(context.get(), request);
    v1::ListAllocationsResponse message;
    while (reader->Read(&message)) {
      stored_arm[message.allocation().participant_id()] =
          message.allocation().assignments(0).arm();
      ++stored;
    }
    const grpc::Status status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(stored, kParticipants);
  EXPECT_EQ(stored_arm, acknowledged_arm);

  v1::VerifyAuditLogRequest verify;
  verify.set_trial_id(kTrial);
  v1::VerifyAuditLogResponse verified;
  const grpc::Status status =
      stub_->VerifyAuditLog(ContextWith(kResearcher).get(), verify, &verified);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(verified.valid()) << verified.reason();
}

}  // namespace
}  // namespace fieldwork::randomisation
