#include "services/analysis/stats/distributions.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>

#include "services/analysis/stats/nan.h"

namespace fieldwork::analysis {
namespace {

bool ValidDf(double df) { return !std::isnan(df) && df > 0.0; }

}  // namespace

double NormalUpperTail(double z) {
  if (std::isnan(z)) return kNaN;
  if (std::isinf(z)) return z > 0 ? 0.0 : 1.0;
  return boost::math::cdf(boost::math::complement(boost::math::normal_distribution<>(), z));
}

double NormalQuantile(double p) {
  if (std::isnan(p) || p < 0.0 || p > 1.0) return kNaN;
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  return boost::math::quantile(boost::math::normal_distribution<>(), p);
}

double TwoSidedTPValue(double t, double df) {
  if (std::isnan(t) || !ValidDf(df)) return kNaN;
  if (std::isinf(df)) return 2.0 * NormalUpperTail(std::fabs(t));
  if (std::isinf(t)) return 0.0;
  return 2.0 * boost::math::cdf(boost::math::complement(boost::math::students_t_distribution<>(df),
                                                        std::fabs(t)));
}

double TQuantile(double p, double df) {
  if (std::isnan(p) || p < 0.0 || p > 1.0 || !ValidDf(df)) return kNaN;
  if (std::isinf(df)) return NormalQuantile(p);
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  return boost::math::quantile(boost::math::students_t_distribution<>(df), p);
}

double ChiSquareUpperTail(double x, double df) {
  if (std::isnan(x) || !ValidDf(df)) return kNaN;
  if (x <= 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return boost::math::cdf(boost::math::complement(boost::math::chi_squared_distribution<>(df), x));
}

double FUpperTail(double f, double df1, double df2) {
  if (std::isnan(f) || !ValidDf(df1) || !ValidDf(df2)) return kNaN;
  if (std::isinf(df2)) return ChiSquareUpperTail(f * df1, df1);
  if (f <= 0.0) return 1.0;
  if (std::isinf(f)) return 0.0;
  return boost::math::cdf(
      boost::math::complement(boost::math::fisher_f_distribution<>(df1, df2), f));
}

}  // namespace fieldwork::analysis
