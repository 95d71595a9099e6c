// Internals shared by the OLS, IV and test code: the rank-revealing QR and the CR2 state.
// Not part of the library's interface.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_OLS_INTERNAL_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_OLS_INTERNAL_H_

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis::internal {

// Householder QR with LINPACK dqrdc2's limited pivoting, as R's lm uses: columns are taken
// left to right, and a column whose norm, after projecting out the columns kept before it,
// falls below tol times its original norm is aliased (left out). So of two collinear columns
// the later one is dropped, exactly as lm reports NA for it.
struct RankRevealingQr {
  std::vector<int> kept;     // indices of the kept columns, ascending
  std::vector<int> aliased;  // the others
  Eigen::MatrixXd r;         // rank x rank upper triangular: X[, kept] = Q R
  Eigen::MatrixXd qty;       // first rank rows of Q'Y
};
RankRevealingQr QrWithLimitedPivoting(Eigen::MatrixXd a, Eigen::MatrixXd y, double tol = 1e-7);

// What the Bell–McCaffrey degrees of freedom of a contrast need after a CR2 fit. With rows
// sorted by cluster, W the weights scaled to mean 1, M = (X'WX)^{-1}, H = X M X'W and
// B_g = ((I - H)(I - H)')_{gg}, the CR2 variance of c'b is sum_g (q_g' e_g)^2 with
// q_g = B_g^{-1/2} W_g X_g M c, and its Satterthwaite df is tr(P)^2 / ||P||_F^2 with
// P_gh = q_g' ((I - H)(I - H)')_{gh} q_h (working model: independent, equal variances),
// as estimatr and clubSandwich (target = I) define it.
struct Cr2State {
  Eigen::MatrixXd x;  // estimated columns, unweighted, rows sorted by cluster
  Eigen::VectorXd w;  // weights scaled to mean 1 (ones when unweighted)
  bool weighted = false;
  std::vector<Eigen::Index> starts;  // cluster g is rows [starts[g], starts[g + 1])
  Eigen::MatrixXd q_map;             // n x rank: rows of cluster g hold B_g^{-1/2} W_g X_g M
  Eigen::MatrixXd m;                 // (X'WX)^{-1}
  Eigen::MatrixXd omega;             // M X'W^2 X M
};

// The Bell–McCaffrey df of c'b (c over the estimated columns). `explicit_limit`: up to this
// many clusters P is formed as a G x G matrix (as estimatr does); above it the same value is
// computed from r x r Gram matrices in O(G r^2).
double Cr2ContrastDf(const Cr2State& state, const Eigen::VectorXd& c, int explicit_limit = 1500);

// Rows grouped by cluster id: rows order[starts[g]] .. order[starts[g + 1] - 1] are cluster g,
// clusters in ascending id order and rows in input order within each (as estimatr sorts).
struct ClusterIndex {
  std::vector<Eigen::Index> order;
  std::vector<Eigen::Index> starts;  // size count + 1
  std::vector<Eigen::Index> group;   // cluster of each input row
  Eigen::Index count = 0;
};
ClusterIndex IndexClusters(const std::vector<std::int64_t>& ids);

// The sandwich variance for a fit with design D (n x r, the estimated columns, unweighted)
// and residuals e = y - X b (unweighted; for 2SLS X is the structural design and D the
// first-stage fitted values). rinv = R^{-1} where W^{1/2} D = Q R (so M = rinv rinv').
struct VarianceResult {
  Eigen::MatrixXd vcov;
  Eigen::VectorXd df;  // per coefficient
  std::shared_ptr<const Cr2State> cr2;
  std::vector<std::string> warnings;
};
VarianceResult SandwichVariance(const Eigen::MatrixXd& d, const Eigen::VectorXd* w_scaled,
                                const Eigen::VectorXd& resid, const Eigen::MatrixXd& rinv,
                                SeType type, const ClusterIndex* clusters,
                                std::int64_t df_residual);

// Checks and normalises the options shared by OLS and 2SLS (`who` prefixes error messages).
struct PreparedOptions {
  SeType type = SeType::kHC2;
  bool weighted = false;
  Eigen::VectorXd w_scaled;  // weights / mean(weights)
  bool clustered = false;
  ClusterIndex clusters;
};
absl::StatusOr<PreparedOptions> PrepareOptions(const OlsOptions& options, Eigen::Index n,
                                               const char* who);
absl::Status CheckFinite(const Eigen::MatrixXd& x, const std::vector<std::string>& names,
                         const char* who);

// Pieces of a fit shared by OLS and 2SLS. FillCoefficientTable needs fit->kept, rank,
// estimate, vcov and alpha set; FillRSquared needs n, df_residual and residuals.
void AliasWarning(const std::vector<int>& aliased, const std::vector<std::string>& names,
                  OlsFit* fit);
void FillRSquared(const Eigen::VectorXd& y, const Eigen::MatrixXd& x_kept,
                  const Eigen::VectorXd* w_scaled, OlsFit* fit);
void FillCoefficientTable(const std::vector<std::string>& names, const Eigen::VectorXd& df,
                          OlsFit* fit);
Eigen::MatrixXd SelectColumns(const Eigen::MatrixXd& x, const std::vector<int>& columns);
Eigen::MatrixXd UpperInverse(const Eigen::MatrixXd& r);

}  // namespace fieldwork::analysis::internal

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_OLS_INTERNAL_H_
