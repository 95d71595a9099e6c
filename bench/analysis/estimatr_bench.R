# The R side of bench/analysis/analysis_stats_bench: times estimatr (and base R for
# randomisation inference) on the data the C++ benchmark wrote to the folder given as the
# first argument, and prints "time:<name> <seconds>" lines (fastest of a few repetitions).
#   Rscript bench/analysis/estimatr_bench.R DIR      (normally run by analysis_stats_bench)
suppressPackageStartupMessages(library(estimatr))

args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else stop("usage: estimatr_bench.R DATA_DIR")

read_mat <- function(name) {
  con <- file(file.path(dir, name), "rb")
  on.exit(close(con))
  dims <- readBin(con, "double", 2)
  matrix(readBin(con, "double", dims[1] * dims[2]), dims[1], dims[2])
}

# Fastest of `reps` measurements, each the mean over `inner` consecutive calls (so that calls
# shorter than system.time's millisecond resolution are still measured).
best_of <- function(reps, expr, inner = 1) {
  expr <- substitute(expr)
  env <- parent.frame()
  times <- vapply(seq_len(reps), function(i) {
    gc(FALSE)
    system.time(for (j in seq_len(inner)) eval(expr, env))[["elapsed"]] / inner
  }, numeric(1))
  min(times)
}

report <- function(name, seconds) cat(sprintf("time:%s %.6f\n", name, seconds))

# HC2 on 1,000,000 x 10: the user-facing call, and estimatr's fitting core on the matrix.
m <- read_mat("hc2.bin")
df <- as.data.frame(m)
names(df) <- c("y", paste0("x", 1:10))
fit <- lm_robust(y ~ ., data = df, se_type = "HC2")
cat(sprintf("hc2 check: coef x1 %.10f se %.10f\n", coef(fit)[2], fit$std.error[2]))
report("hc2_lm_robust", best_of(3, lm_robust(y ~ ., data = df, se_type = "HC2")))
X <- cbind(1, m[, -1])
colnames(X) <- c("(Intercept)", paste0("x", 1:10))
report("hc2_lm_robust_fit", best_of(3, estimatr:::lm_robust_fit(
  y = m[, 1], X = X, weights = NULL, cluster = NULL, se_type = "HC2", has_int = TRUE)))
rm(m, df, X, fit)

# CR2 on 3,030 rows in 303 clusters.
m <- read_mat("cr2.bin")
cdf <- data.frame(y = m[, 1], cluster = m[, 2], minority = m[, 3], training = m[, 4],
                  age = m[, 6], baseline = m[, 7])
fit <- lm_robust(y ~ minority * training + age + baseline, data = cdf, clusters = cluster)
cat(sprintf("cr2 check: coef minority %.10f se %.10f df %.6f\n", coef(fit)[2],
            fit$std.error[2], fit$df[2]))
report("cr2_lm_robust", best_of(5, lm_robust(y ~ minority * training + age + baseline,
                                             data = cdf, clusters = cluster), inner = 50))
Xc <- cbind(1, m[, 3:7])
colnames(Xc) <- c("(Intercept)", "minority", "training", "minority:training", "age",
                  "baseline")
report("cr2_lm_robust_fit", best_of(5, estimatr:::lm_robust_fit(
  y = m[, 1], X = Xc, weights = NULL, cluster = as.integer(m[, 2]), se_type = "CR2",
  has_int = TRUE), inner = 50))

# Randomisation inference: 10,000 complete-randomisation redraws of 2,000, difference in means.
m <- read_mat("ri.bin")
y <- m[, 1]
t <- m[, 2]
ri <- function() {
  obs <- mean(y[t == 1]) - mean(y[t == 0])
  sims <- vapply(1:10000, function(i) {
    z <- sample(t)
    mean(y[z == 1]) - mean(y[z == 0])
  }, numeric(1))
  mean(abs(sims) >= abs(obs))
}
set.seed(1)
report("ri_base_r", best_of(3, ri()))
