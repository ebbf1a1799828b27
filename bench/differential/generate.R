#!/usr/bin/env Rscript
# Randomized differential cases for `sem` against lavaan (issue 11).
#
#   Rscript generate.R OUT_DIR N [SEED]
#
# Writes N cases OUT_DIR/case_NNN/{model.lav,data.csv,args,class,expected.json,
# lavaan_warnings.txt}: a random population model (CFA, SEM with latent
# regressions, observed path model; optional labels and defined
# parameters), data drawn from it (small or large N, continuous or 5-point
# Likert), and random options (ML, MLR, MLM, GLS, ULS; std.lv; two or three
# groups with group.equal). expected.json is lavaan 0.6-14's answer in the
# shape of `sem fit --format json`; a case lavaan cannot fit is skipped.
suppressMessages({library(lavaan); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
out <- a[1]; n_cases <- as.integer(a[2]); seed <- if (length(a) > 2) as.integer(a[3]) else 1L
set.seed(seed)
dir.create(out, showWarnings = FALSE, recursive = TRUE)

pick <- function(x, ...) x[[sample.int(length(x), 1, ...)]]

gen_model <- function(kind) {
  if (kind == "path") {
    # x1, x2 -> m -> y (+ direct), observed
    labels <- runif(1) < 0.5
    pop <- "m ~ 0.4*x1 + 0.3*x2\ny ~ 0.5*m + 0.2*x1\n"
    fit <- if (labels) "m ~ a*x1 + x2\ny ~ b*m + c*x1\nind := a*b\n" else "m ~ x1 + x2\ny ~ m + x1\n"
    return(list(pop = pop, fit = fit, vars = c("x1", "x2", "m", "y")))
  }
  nf <- if (kind == "cfa") pick(1:3) else pick(2:3)
  ni <- sapply(seq_len(nf), function(i) pick(3:5))
  lines_pop <- c(); lines_fit <- c(); vars <- c(); k <- 0
  for (f in seq_len(nf)) {
    items <- paste0("y", k + seq_len(ni[f])); k <- k + ni[f]; vars <- c(vars, items)
    lam <- round(runif(ni[f], 0.4, 0.9), 2)
    lines_pop <- c(lines_pop, sprintf("f%d =~ %s", f, paste0(lam, "*", items, collapse = " + ")),
                   sprintf("%s ~~ %s*%s", items, round(1 - lam^2, 2), items))
    lines_fit <- c(lines_fit, sprintf("f%d =~ %s", f, paste(items, collapse = " + ")))
  }
  if (kind == "sem" && nf >= 2) {
    lines_pop <- c(lines_pop, sprintf("f%d ~ 0.4*f1", 2:nf))
    lab <- runif(1) < 0.5
    lines_fit <- c(lines_fit, sprintf("f%d ~ %sf1", 2:nf, if (lab) paste0("b", 2:nf, "*") else ""))
    if (lab && nf == 3) lines_fit <- c(lines_fit, "d := b2 - b3")
  } else if (nf >= 2) {
    lines_pop <- c(lines_pop, "f1 ~~ 0.3*f2")
  }
  extra <- c()
  if (runif(1) < 0.25) { # an exogenous observed covariate
    lines_pop <- c(lines_pop, "f1 ~ 0.3*z"); lines_fit <- c(lines_fit, "f1 ~ z"); vars <- c(vars, "z"); extra <- c(extra, "exo")
  }
  if (runif(1) < 0.15) { # near-Heywood: the first indicator almost without error
    lines_pop <- sub("f1 =~ [0-9.]+\\*y1", "f1 =~ 0.97*y1", lines_pop)
    lines_pop <- sub("y1 ~~ [0-9.]+\\*y1", "y1 ~~ 0.06*y1", lines_pop)
    extra <- c(extra, "heywood")
  }
  r <- runif(1)
  if (r < 0.1) { # a fixed residual variance
    lines_fit <- c(lines_fit, "y2 ~~ 0.5*y2"); extra <- c(extra, "fixedres")
  } else if (r < 0.2) { # a residual covariance
    lines_fit <- c(lines_fit, "y1 ~~ y2"); extra <- c(extra, "rescov")
  } else if (r < 0.25) { # a residual covariance with an indicator whose residual variance is fixed at 0
    lines_fit <- c(lines_fit, "y1 ~~ 0*y1", "y1 ~~ y2"); extra <- c(extra, "zerores")
  }
  list(pop = paste(lines_pop, collapse = "\n"), fit = paste(lines_fit, collapse = "\n"), vars = vars, extra = extra)
}

done <- 0; tries <- 0
while (done < n_cases && tries < 5 * n_cases) {
  tries <- tries + 1
  kind <- pick(c("cfa", "cfa", "sem", "path"))
  m <- gen_model(kind)
  est <- pick(c("ML", "ML", "MLR", "MLM", "GLS", "ULS"))
  n <- pick(c(60, 150, 400, 2000), prob = c(0.2, 0.35, 0.35, 0.1))
  likert <- runif(1) < 0.25
  ngroups <- if (runif(1) < 0.3) pick(2:3) else 1
  std_lv <- kind != "path" && runif(1) < 0.3
  d <- do.call(rbind, lapply(seq_len(ngroups), function(g) {
    x <- simulateData(m$pop, sample.nobs = n)
    x <- x[, intersect(m$vars, names(x)), drop = FALSE]
    if (likert) for (v in names(x)) if (v != "z") x[[v]] <- as.integer(cut(x[[v]], c(-Inf, -1.5, -0.5, 0.5, 1.5, Inf)))
    if (ngroups > 1) x$grp <- paste0("g", g)
    x
  }))
  d <- as.data.frame(lapply(d, function(v) if (is.numeric(v)) round(v, 4) else v))
  opts <- list(estimator = est)
  args <- c("--estimator", tolower(est))
  if (std_lv) { opts$std.lv <- TRUE; args <- c(args, "--std-lv") }
  if (ngroups > 1) {
    opts$group <- "grp"; args <- c(args, "--group", "grp")
    ge <- pick(list(character(0), "loadings", c("loadings", "intercepts"), c("loadings", "intercepts", "residuals")))
    if (kind == "path" && length(ge)) ge <- pick(list(character(0), "regressions", c("intercepts", "residuals")))
    if (length(ge)) { opts$group.equal <- ge; args <- c(args, "--group-equal", paste(ge, collapse = ",")) }
  }
  class <- paste0(kind, ":", tolower(est), if (std_lv) ":stdlv" else "", if (ngroups > 1) ":groups" else "",
                  if (!is.null(opts$group.equal)) paste0(":eq=", paste(opts$group.equal, collapse = "+")) else "",
                  if (likert) ":likert" else "", if (length(m$extra)) paste0(":", m$extra, collapse = "") else "", if (n <= 60) ":smallN" else if (n >= 2000) ":largeN" else "")
  warns <- character(0)
  fit <- tryCatch(withCallingHandlers(do.call("sem", c(list(model = m$fit, data = d), opts)),
                    warning = function(w) { warns <<- c(warns, gsub("\\s+", " ", conditionMessage(w))); invokeRestart("muffleWarning") }),
                  error = function(e) NULL)
  if (is.null(fit)) next
  done <- done + 1
  dir <- file.path(out, sprintf("case_%03d", done)); dir.create(dir, showWarnings = FALSE)
  writeLines(m$fit, file.path(dir, "model.lav"))
  write.csv(d, file.path(dir, "data.csv"), row.names = FALSE)
  writeLines(paste(args, collapse = " "), file.path(dir, "args"))
  writeLines(class, file.path(dir, "class"))
  writeLines(warns, file.path(dir, "lavaan_warnings.txt"))
  conv <- lavInspect(fit, "converged")
  pe <- if (conv) parameterEstimates(fit) else parameterEstimates(fit, se = FALSE)
  if (is.null(pe$group)) pe$group <- 1L
  keep <- intersect(c("lhs", "op", "rhs", "group", "est", "se"), names(pe))
  fm <- if (conv) as.list(unclass(fitMeasures(fit))) else list()
  names(fm) <- gsub(".", "_", names(fm), fixed = TRUE)
  res <- list(converged = conv, npar = lavInspect(fit, "npar"), parameters = pe[, keep], fit = fm)
  writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, na = "null"), file.path(dir, "expected.json"))
}
cat(sprintf("%d cases in %s (%d tries)\n", done, out, tries))
