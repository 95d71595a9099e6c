// The few distribution functions the estimators need (Student t, F, chi-square, normal),
// from Boost.Math, returning NaN instead of throwing when a parameter is undefined.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_DISTRIBUTIONS_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_DISTRIBUTIONS_H_

namespace fieldwork::analysis {

// 2 * P(T_df > |t|), as R's 2 * pt(abs(t), df, lower.tail = FALSE). An infinite df gives the
// normal; a df that is NaN or not positive gives NaN.
double TwoSidedTPValue(double t, double df);

// P(T_df <= p)^{-1}, as R's qt(p, df); an infinite df gives the normal quantile.
double TQuantile(double p, double df);

// P(F_{df1,df2} > f), as R's pf(f, df1, df2, lower.tail = FALSE); an infinite df2 gives
// P(chi2_df1 > df1 * f).
double FUpperTail(double f, double df1, double df2);

// P(chi2_df > x), as R's pchisq(x, df, lower.tail = FALSE).
double ChiSquareUpperTail(double x, double df);

// Standard normal quantile and upper tail, as R's qnorm(p) and pnorm(z, lower.tail = FALSE).
double NormalQuantile(double p);
double NormalUpperTail(double z);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_DISTRIBUTIONS_H_
