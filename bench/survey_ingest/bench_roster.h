// The roster survey-ingest's benchmarks check against: the real randomisation service,
// in-process over the benchmark's Redis, with one trial (BenchTrialDesign: two arms at site LA1)
// and participants P0, P1, ... enrolled through its EnrolStream.
#ifndef FIELDWORK_BENCH_SURVEY_INGEST_BENCH_ROSTER_H_
#define FIELDWORK_BENCH_SURVEY_INGEST_BENCH_ROSTER_H_

#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "fieldwork/v1/randomisation.pb.h"
#include "services/common/auth.h"
#include "services/common/redis_client.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"
#include "tests/testing/grpc_harness.h"

namespace fieldwork::survey_ingest {

// The survey-ingest benchmarks' trial: `trial`, at the one site LA1, with one factor
// "intervention" of arms treatment and control (1:1, complete randomisation).
fieldwork::v1::TrialDesign BenchTrialDesign(const std::string& trial);

class BenchRoster {
 public:
  // Creates `trial` and enrols `participants` participants, calling with `token` (a researcher
  // of `authenticator`); exits the process, saying why, when a call fails.
  BenchRoster(RedisClient& redis, const Authenticator& authenticator, const std::string& token,
              const std::string& trial, int participants);

  // Where survey-ingest's GrpcRoster reaches it.
  std::string address() const { return server_->address(); }

 private:
  randomisation::RedisRandomisationStore store_;
  prometheus::Registry registry_;
  randomisation::RandomisationMetrics metrics_;
  randomisation::Randomiser randomiser_;
  randomisation::RandomisationServiceImpl service_;
  std::unique_ptr<testing::InProcessServer> server_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_BENCH_SURVEY_INGEST_BENCH_ROSTER_H_
