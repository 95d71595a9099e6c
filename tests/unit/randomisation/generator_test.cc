#include "services/randomisation/methods/generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/randomisation/methods/batch.h"
#include "services/randomisation/methods/blocks.h"

namespace fieldwork::randomisation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Known answers. They were computed once by this library and committed here; they are also
// reproduced by tests/unit/randomisation/reference_generator.py, an independent Python
// implementation written from services/randomisation/README.md. They pin the generator:
// every platform, compiler and standard library must give these exact values, or a trial's
// allocation could not be replayed from its revealed secret. Never "update" them to make a
// test pass — a change here means the generator changed, and needs a new scheme label.
std::string KatSecret() {
  std::string s(32, '\0');
  for (int i = 0; i < 32; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(i);
  return s;
}

Context KatContext() { return Context().Add("method", "kat").Add("draw", std::uint64_t{0}); }

Generator KatGenerator() { return *Generator::Create(KatSecret(), Scope{"T1", "main", ""}); }

TEST(GeneratorKnownAnswers, ContextEncoding) {
  const auto pairs = FullContext(Scope{"T1", "main", ""}, KatContext());
  EXPECT_EQ(Sha256Hex(EncodeContext(pairs)),
            "35bd59b12910d620635153f210a40c975c98a02d9b2f480de754c207096f925c");
  // The encoding spelled out for the first pair.
  const std::string enc = EncodeContext({{"ab", "c"}});
  EXPECT_EQ(HexEncode(enc),
            "02000000000000006162"
            "010000000000000063");
}

TEST(GeneratorKnownAnswers, Key) {
  const auto key = KatGenerator().Key(KatContext());
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size())),
            "4d66898a83d1037505bc9845bc6360e4d83c81f2ea169470f5f3dbc820fb7fb2");
  // The precomputed-scope path and the one-shot path agree.
  EXPECT_EQ(key, DeriveKey(KatSecret(), FullContext(Scope{"T1", "main", ""}, KatContext())));
}

TEST(GeneratorKnownAnswers, Words) {
  Stream s = KatGenerator().Open(KatContext());
  std::vector<std::string> words;
  for (int i = 0; i < 10; ++i)
    words.push_back(absl::StrCat(absl::Hex(s.NextWord(), absl::kZeroPad16)));
  // Ten words: the first ChaCha20 block (8 words) and two from the second.
  EXPECT_THAT(words, ElementsAre("8adc2146659f2161", "8e3b9c88e3c15152", "0a6f2b04c60ab1b4",
                                 "fad6008df9942831", "46feeb992c4bb934", "e1d12b13efb1ebef",
                                 "5d86521cced164f1", "ff2cc367e97b1002", "37d0dfbbf3541e67",
                                 "cb397a376999ff9d"));
  EXPECT_EQ(s.words_used(), 10U);
}

TEST(GeneratorKnownAnswers, BoundedUniformShuffle) {
  Stream s = KatGenerator().Open(KatContext());
  std::vector<std::uint64_t> below;
  for (const std::uint64_t n :
       {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{6}, std::uint64_t{10},
        std::uint64_t{1000}, (std::uint64_t{1} << 63) + 1}) {
    below.push_back(s.Below(n));
  }
  EXPECT_THAT(below, ElementsAre(0U, 1U, 0U, 5U, 2U, 882U, 3369582088044458616U));
  EXPECT_EQ(s.words_used(), 7U);  // no rejection happened for these bounds
  EXPECT_EQ(s.Uniform(), 0.99677678381838697);

  Stream t = KatGenerator().Open(KatContext());
  std::vector<int> items(10);
  std::iota(items.begin(), items.end(), 0);
  t.Shuffle(absl::MakeSpan(items));
  EXPECT_THAT(items, ElementsAre(3, 7, 2, 8, 4, 1, 6, 0, 9, 5));
}

TEST(GeneratorKnownAnswers, Methods) {
  const Generator gen = KatGenerator();
  std::vector<Unit> units;
  for (int i = 0; i < 20; ++i) {
    Unit u;
    u.id = absl::StrCat("p", absl::Dec(i, absl::kZeroPad2));
    u.stratum = i % 3 ? "north" : "south";
    units.push_back(u);
  }
  const auto cws = AllocateCompleteWithinStrata(gen, {{"a", 2}, {"b", 1}}, units);
  ASSERT_TRUE(cws.ok()) << cws.status();
  std::string s;
  for (const int a : *cws) s += static_cast<char>('0' + a);
  EXPECT_EQ(s, "00100000100110110011");

  const auto simple = AllocateSimple(gen, {{"a", 1}, {"b", 1}, {"c", 1}}, units);
  ASSERT_TRUE(simple.ok());
  s.clear();
  for (const int a : *simple) s += static_cast<char>('0' + a);
  EXPECT_EQ(s, "21012102010220112012");

  const auto block =
      PermutedBlock(gen, PermutedBlocksDesign{{{"a", 1}, {"b", 1}}, {6, 4}}, "north", 0);
  ASSERT_TRUE(block.ok());
  EXPECT_THAT(*block, ElementsAre(0, 1, 0, 1));
}

TEST(Generator, Sha256AndHex) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(SecretCommitment("abc"), Sha256Hex("abc"));
  const std::string bytes("\x00\x01\xfe\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001feff");
  EXPECT_EQ(*HexDecode("0001FEff"), bytes);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(Generator, NewSecretIsFreshAndLongEnough) {
  const std::string a = NewSecret(), b = NewSecret();
  EXPECT_EQ(a.size(), kSecretBytes);
  EXPECT_NE(a, b);
  EXPECT_TRUE(Generator::Create(a, Scope{"T", "", ""}).ok());
}

TEST(Generator, RejectsShortSecretAndMissingTrial) {
  auto g = Generator::Create("short", Scope{"T", "", ""});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(g.status().message(), HasSubstr("secret"));
  g = Generator::Create(KatSecret(), Scope{"", "f", ""});
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("scope.trial"));
}

TEST(Generator, EncodingIsInjective) {
  // Values that would collide under naive concatenation or separators do not collide.
  std::set<std::string> encodings;
  const std::vector<std::vector<std::pair<std::string, std::string>>> contexts = {
      {{"stratum", "ab"}, {"participant", "c"}},
      {{"stratum", "a"}, {"participant", "bc"}},
      {{"stratum", "a|b"}, {"participant", "c"}},
      {{"stratum", "a"}, {"participant", "b|c"}},
      {{"stratum", ""}, {"participant", "abc"}},
      {{"stratum", "abc"}},
      {{"stratumabc", ""}},
      {{"participant", "c"}, {"stratum", "ab"}},
  };
  for (const auto& c : contexts) encodings.insert(EncodeContext(c));
  EXPECT_EQ(encodings.size(), contexts.size());
}

TEST(Generator, DifferentScopesAndContextsGiveDifferentStreams) {
  const std::string secret = KatSecret();
  std::set<std::uint64_t> first_words;
  for (const Scope& scope : {Scope{"T1", "main", ""}, Scope{"T2", "main", ""},
                             Scope{"T1", "other", ""}, Scope{"T1", "main", "2021"}}) {
    const Generator g = *Generator::Create(secret, scope);
    first_words.insert(g.Open(KatContext()).NextWord());
  }
  EXPECT_EQ(first_words.size(), 4U);
  std::string other_secret = secret;
  other_secret[0] = 'x';
  EXPECT_NE(Generator::Create(other_secret, Scope{"T1", "main", ""})->Open(KatContext()).NextWord(),
            KatGenerator().Open(KatContext()).NextWord());
}

TEST(Generator, BelowIsInRangeAndUniform) {
  Stream s = KatGenerator().Open(Context().Add("method", "uniformity"));
  // Chi-square over 7 cells (7 does not divide 2^64, so rejection matters).
  std::vector<int> cells(7, 0);
  const int draws = 70000;
  for (int i = 0; i < draws; ++i) {
    const std::uint64_t x = s.Below(7);
    ASSERT_LT(x, 7U);
    ++cells[x];
  }
  double chi = 0;
  for (const int c : cells) chi += (c - draws / 7.0) * (c - draws / 7.0) / (draws / 7.0);
  EXPECT_LT(chi, 22.46);  // chi-square(6) upper 0.1% point
  // A bound just above 2^63 rejects about half the words: still in range.
  for (int i = 0; i < 1000; ++i)
    ASSERT_LT(s.Below((std::uint64_t{1} << 63) + 1), (std::uint64_t{1} << 63) + 1);
  for (int i = 0; i < 1000; ++i) {
    const double u = s.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Generator, WeightedIndexFollowsWeights) {
  Stream s = KatGenerator().Open(Context().Add("method", "weighted"));
  std::vector<int> cells(3, 0);
  const std::vector<std::int64_t> weights = {1, 2, 3};
  const int draws = 60000;
  for (int i = 0; i < draws; ++i) ++cells[s.WeightedIndex(weights)];
  for (std::size_t a = 0; a < 3; ++a) {
    const double p = static_cast<double>(weights[a]) / 6.0;
    const double se = std::sqrt(draws * p * (1 - p));
    EXPECT_NEAR(cells[a], draws * p, 4 * se) << "arm " << a;
  }
}

TEST(Generator, ShuffleIsUniformOverPermutations) {
  // All 24 permutations of 4 items about equally often.
  Stream s = KatGenerator().Open(Context().Add("method", "shuffle"));
  std::map<std::vector<int>, int> seen;
  const int draws = 24000;
  for (int i = 0; i < draws; ++i) {
    std::vector<int> v = {0, 1, 2, 3};
    s.Shuffle(absl::MakeSpan(v));
    ++seen[v];
  }
  ASSERT_EQ(seen.size(), 24U);
  double chi = 0;
  for (const auto& [perm, c] : seen) chi += (c - 1000.0) * (c - 1000.0) / 1000.0;
  EXPECT_LT(chi, 49.73);  // chi-square(23) upper 0.1% point
}

}  // namespace
}  // namespace fieldwork::randomisation
