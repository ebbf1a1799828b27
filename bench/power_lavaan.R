# lavaan's cost per Monte Carlo replication of the Bradford model at N = 300, the
# side-by-side measure of `sem power` (BENCHMARKS.md): simulateData() from the population
# model + sem() of the analysis model, as a simsem-style loop does, REPS times.
# Rscript bench/power_lavaan.R [REPS]   (run from the repository root)
suppressMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args) > 0) as.integer(args[1]) else 50
pop <- paste(readLines("models/bradford_population.lav"), collapse = "\n")
ana <- paste(readLines("models/bradford.lav"), collapse = "\n")
supported <- 0
t <- system.time(for (r in seq_len(reps)) {
  d <- simulateData(pop, sample.nobs = 300, seed = r)
  fit <- sem(ana, data = d)
  pe <- parameterEstimates(fit)
  supported <- supported + (pe$pvalue[pe$label == "H8"] < 0.05 & pe$est[pe$label == "H8"] > 0)
})
cat(sprintf("lavaan %s: %d replications in %.2f s elapsed (%.2f s user), %.4f s per replication; H8 power %.3f\n",
            packageVersion("lavaan"), reps, t[["elapsed"]], t[["user.self"]], t[["elapsed"]] / reps, supported / reps))
