#include "tests/integration/messaging/messaging_fixture.h"

#include <grpcpp/create_channel.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "services/common/auth.h"
#include "services/messaging/domain/contact_crypto.h"

namespace fieldwork::messaging {

namespace v1 = ::fieldwork::v1;

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token);
  return context;
}

RandomisationStack::RandomisationStack(const std::string& redis_url, const Clock& clock) {
  RedisClientOptions options;
  options.url = redis_url;
  options.command_timeout = absl::Seconds(30);
  redis_ = *RedisClient::Create(options);
  store_ = std::make_unique<randomisation::RedisRandomisationStore>(*redis_);
  const std::string yaml =
      absl::StrCat("tokens:\n", "  - name: researcher\n    sha256: ", HashToken(kResearcherToken),
                   "\n    roles: [researcher]\n    trials: [\"*\"]\n",
                   "  - name: messaging\n    sha256: ", HashToken(kAnalystToken),
                   "\n    roles: [analyst]\n    trials: [\"*\"]\n");
  authenticator_ = std::make_unique<Authenticator>(*TokenStore::FromYaml(yaml, "test tokens"));
  registry_ = std::make_unique<prometheus::Registry>();
  metrics_ = std::make_unique<randomisation::RandomisationMetrics>(*registry_);
  randomiser_ = std::make_unique<randomisation::Randomiser>(*store_, clock, metrics_->Observer());
  service_ =
      std::make_unique<randomisation::RandomisationServiceImpl>(*randomiser_, *authenticator_);
  server_ = std::make_unique<fieldwork::testing::InProcessServer>(
      std::vector<grpc::Service*>{service_.get()});
  address_ = server_->address();
  stub_ = v1::RandomisationService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

RandomisationStack::~RandomisationStack() = default;

void MessagingTest::SetUp() {
  redis_server_ = std::make_unique<fieldwork::testing::RedisServer>(
      fieldwork::testing::RedisServerOptions{.durable = true});
  randomisation_ = std::make_unique<RandomisationStack>(redis_server_->url(), clock_);
  RedisClientOptions options;
  options.url = redis_server_->url();
  options.command_timeout = absl::Seconds(10);
  options.pool_size = 16;
  redis_ = *RedisClient::Create(options);
  ContactCipher cipher = *ContactCipher::Create(*ParseKey32(kContactKeyHex, "contact key"));
  store_ = std::make_unique<MessageStore>(*redis_, cipher, *ParseKey32(kContactKeyHex, "k"));
  QueueOptions queue_options;
  queue_options.lease = absl::Seconds(3);
  queue_options.reclaim_idle = absl::Seconds(3);
  queue_ = std::make_unique<SendQueue>(*redis_, queue_options);
  signer_ = std::make_unique<LinkSigner>(*LinkSigner::Create(*ParseKey32(kLinkKeyHex, "link")));
  allocations_ = std::make_unique<GrpcAllocationSource>(
      grpc::CreateChannel(randomisation_->address(), grpc::InsecureChannelCredentials()),
      kAnalystToken);
  messenger_ = std::make_unique<Messenger>(*store_, *queue_, *allocations_, clock_);
  metrics_ = std::make_unique<MessagingMetrics>(registry_);
  scheduler_ = std::make_unique<Scheduler>(*queue_, clock_, metrics_.get());
  file_path_ = dir_.path() + "/messages.jsonl";
  file_channel_ = *FileChannel::Open(file_path_);
}

void MessagingTest::TearDown() {}

std::map<std::string, std::string> MessagingTest::CreateTwoArmTrial(const std::string& trial,
                                                                    int n) {
  v1::CreateTrialRequest create;
  v1::TrialDesign& design = *create.mutable_design();
  design.set_trial_id(trial);
  design.add_sites()->set_id("s1");
  v1::Factor& factor = *design.add_factors();
  factor.set_name("messages");
  factor.set_method(v1::RANDOMISATION_METHOD_COMPLETE);
  for (const char* arm : {"treatment", "control"}) {
    v1::Arm* a = factor.add_arms();
    a->set_name(arm);
    a->set_weight(1);
  }
  v1::CreateTrialResponse created;
  grpc::Status s =
      randomisation_->stub().CreateTrial(ContextWith(kResearcherToken).get(), create, &created);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::EnrolRequest enrol;
  enrol.set_trial_id(trial);
  v1::UpsertContactsRequest contacts;
  contacts.set_trial_id(trial);
  for (int i = 0; i < n; ++i) {
    v1::Participant* p = enrol.add_participants();
    p->set_participant_id(absl::StrCat("p", i));
    p->set_site("s1");
    v1::Contact* c = contacts.add_contacts();
    c->set_participant_id(absl::StrCat("p", i));
    c->set_email(absl::StrCat("p", i, "@example.org"));
    c->set_phone(absl::StrFormat("+4477009%05d", i));
    c->set_first_name(absl::StrCat("P", i));
    c->set_time_zone("Europe/London");
  }
  v1::EnrolResponse enrolled;
  s = randomisation_->stub().Enrol(ContextWith(kResearcherToken).get(), enrol, &enrolled);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::LockDesignRequest lock;
  lock.set_trial_id(trial);
  v1::LockDesignResponse locked;
  s = randomisation_->stub().LockDesign(ContextWith(kResearcherToken).get(), lock, &locked);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::RandomiseRequest randomise;
  randomise.set_trial_id(trial);
  v1::RandomiseResponse randomised;
  s = randomisation_->stub().Randomise(ContextWith(kResearcherToken).get(), randomise, &randomised);
  EXPECT_TRUE(s.ok()) << s.error_message();
  absl::StatusOr<v1::UpsertContactsResponse> up = messenger_->UpsertContacts(contacts, ParticipantScope());
  EXPECT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->upserted(), n);

  std::map<std::string, std::string> arms;
  v1::ListAllocationsRequest list;
  list.set_trial_id(trial);
  auto context = ContextWith(kResearcherToken);
  auto reader = randomisation_->stub().ListAllocations(context.get(), list);
  v1::ListAllocationsResponse item;
  while (reader->Read(&item)) {
    arms[item.allocation().participant_id()] = item.allocation().assignments(0).arm();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(arms.size(), static_cast<size_t>(n));
  return arms;
}

void MessagingTest::SaveTemplate(const std::string& trial, const std::string& id) {
  v1::UpdateTemplateRequest request;
  request.set_trial_id(trial);
  request.set_template_id(id);
  request.mutable_content()->set_subject("Hello {{first_name}}");
  request.mutable_content()->set_text_body(
      "Dear {{first_name}}, this week's video: {{tracked_link:https://video.example.org/w}} "
      "Unsubscribe: {{unsubscribe_link}}");
  request.mutable_content()->set_sms_body(
      "Hi {{first_name}}, {{tracked_link:https://v.example.org/s}}");
  absl::StatusOr<v1::UpdateTemplateResponse> saved = messenger_->UpdateTemplate(request);
  ASSERT_TRUE(saved.ok()) << saved.status();
}

std::unique_ptr<Worker> MessagingTest::NewWorker(const std::string& consumer, MessageChannel* email,
                                                 WorkerOptions options) {
  WorkerDeps deps;
  deps.queue = queue_.get();
  deps.store = store_.get();
  deps.allocations = allocations_.get();
  deps.signer = signer_.get();
  deps.email = email != nullptr ? email : file_channel_.get();
  deps.sms = file_channel_.get();
  deps.clock = &clock_;
  deps.metrics = metrics_.get();
  options.consumer = consumer;
  if (options.from_address == WorkerOptions().from_address) {
    options.from_address = "Study team <study@fieldwork.example>";
  }
  options.block = absl::ZeroDuration();
  return std::make_unique<Worker>(deps, options);
}

int MessagingTest::DrainNow(Worker& worker) {
  int total = 0;
  for (;;) {
    absl::StatusOr<int64_t> moved = scheduler_->RunOnce();
    EXPECT_TRUE(moved.ok()) << moved.status();
    absl::StatusOr<int> done = worker.RunOnce();
    EXPECT_TRUE(done.ok()) << done.status();
    if (!moved.ok() || !done.ok()) return total;
    total += *done;
    if (*moved == 0 && *done == 0) return total;
  }
}

std::vector<std::map<std::string, std::string>> MessagingTest::Delivered() const {
  std::vector<std::map<std::string, std::string>> out;
  std::ifstream in(file_path_);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    std::map<std::string, std::string> m;
    for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = it.value().get<std::string>();
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<v1::MessageEvent> MessagingTest::Events(const std::string& trial,
                                                    const std::vector<v1::EventKind>& kinds,
                                                    const std::string& after_cursor) {
  std::vector<v1::MessageEvent> out;
  v1::ListEventsRequest request;
  request.set_trial_id(trial);
  request.set_after_cursor(after_cursor);
  for (v1::EventKind kind : kinds) request.add_kinds(kind);
  absl::Status s = messenger_->ListEvents(request, [&](const v1::ListEventsResponse& page) {
    out.insert(out.end(), page.events().begin(), page.events().end());
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

}  // namespace fieldwork::messaging
