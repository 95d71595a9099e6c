// Batch randomisation methods: every enrolled unit is allocated at once. Pure functions: the
// same secret, scope, arms and set of units give the same allocation, whatever the order in
// which the units are supplied (each method puts the units into a canonical order first).
//
// Results are arm indices parallel to the input: result[i] is the arm of units[i].
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_BATCH_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_BATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

// Exact arm counts for n units: floor(n·w/W) per arm, and the remainder R = n − Σ floors
// given to R distinct arms at random so that each arm's expected count is exactly n·w/W
// (arm order shuffled, then systematic sampling over the fractional parts; see README).
// Consumes no draw when R == 0.
std::vector<std::int64_t> ExactCounts(Stream& stream, absl::Span<const std::int64_t> weights,
                                      std::int64_t n);

// Simple randomisation: each unit independently gets arm a with probability w_a/W, keyed by
// its participant id. Counts are not fixed.
absl::StatusOr<std::vector<int>> AllocateSimple(const Generator& gen, absl::Span<const Arm> arms,
                                                absl::Span<const Unit> units);

// Complete randomisation: exact counts over all units (strata ignored). `draw` is the
// rerandomisation draw number (0 for a plain allocation).
absl::StatusOr<std::vector<int>> AllocateComplete(const Generator& gen, absl::Span<const Arm> arms,
                                                  absl::Span<const Unit> units,
                                                  std::uint64_t draw = 0);

// Complete randomisation within each stratum (randomizr's block_ra), each stratum keyed by
// its stratum key.
absl::StatusOr<std::vector<int>> AllocateCompleteWithinStrata(const Generator& gen,
                                                              absl::Span<const Arm> arms,
                                                              absl::Span<const Unit> units,
                                                              std::uint64_t draw = 0);

struct ClusterOptions {
  // When true (the default) a cluster whose members lie in different strata is an error;
  // when false the cluster is randomised in the stratum most of its members are in (ties:
  // the smallest stratum key).
  bool forbid_clusters_across_strata = true;
};

// Cluster randomisation: exact counts of clusters per arm; every member gets its cluster's
// arm. Every unit needs a cluster id.
absl::StatusOr<std::vector<int>> AllocateCluster(const Generator& gen, absl::Span<const Arm> arms,
                                                 absl::Span<const Unit> units,
                                                 std::uint64_t draw = 0);

// Cluster randomisation within strata: exact counts of clusters per arm in each stratum.
absl::StatusOr<std::vector<int>> AllocateClusterWithinStrata(const Generator& gen,
                                                             absl::Span<const Arm> arms,
                                                             absl::Span<const Unit> units,
                                                             const ClusterOptions& options = {},
                                                             std::uint64_t draw = 0);

struct RerandomisationOptions {
  // Probability that a draw is accepted under the chi-square approximation; sets the
  // threshold a = chi-square quantile(acceptance_probability; df = q·(k−1)).
  double acceptance_probability = 0.1;
  // Draws tried before giving up with FAILED_PRECONDITION.
  std::uint64_t max_draws = 10000;
  // Redraw complete randomisation within strata instead of complete randomisation.
  bool within_strata = false;
};

struct RerandomisationResult {
  std::vector<int> arms;         // parallel to the input units
  std::uint64_t draws_used = 0;  // draws made; the accepted one is draw number draws_used − 1
  double distance = 0;           // Mahalanobis distance of the accepted draw
  double threshold = 0;          // the acceptance threshold a
  int df = 0;                    // q·(k−1)
};

// Morgan–Rubin rerandomisation over the units' numeric covariates: draws d = 0, 1, 2, ... of
// complete (or within-strata) randomisation, each keyed with its draw number, until the
// Mahalanobis distance between arm means is at most the threshold.
absl::StatusOr<RerandomisationResult> Rerandomise(const Generator& gen, absl::Span<const Arm> arms,
                                                  absl::Span<const Unit> units,
                                                  const RerandomisationOptions& options);

// The Mahalanobis distance between arm means used by rerandomisation:
//   M = Σ_a n_a (x̄_a − x̄)' S⁻¹ (x̄_a − x̄),
// S the sample covariance (denominator n − 1) of all units' covariates. For two arms this is
// n·p·(1−p)·d'S⁻¹d with d the difference of means and p the share in the first arm.
// Approximately chi-square with q·(k−1) degrees of freedom under randomisation.
// Errors when covariates are missing, ragged or their covariance is singular.
absl::StatusOr<double> MahalanobisDistance(absl::Span<const Unit> units,
                                           absl::Span<const int> arm_of, int num_arms);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_BATCH_H_
