#!/usr/bin/env python3
"""Run `sem fit --format json` on every case made by generate.R and compare
with lavaan's answer; print agreement counts per class feature and the
disagreements.

    python3 compare.py BINARY CASES_DIR [--verbose]

A case agrees when both converge (or both do not), npar/df agree, chisq is
within 0.1% or 1e-3, every parameter estimate and SE is within 0.1% or
5e-4 (2e-3 absolute for SEs of ULS), and lavaan's admissibility warnings
(negative variances, theta / latent covariance / vcov not positive definite)
are given by both or neither. Exit status 0 always: this is a measurement.
"""
import json, os, subprocess, sys, time
from collections import defaultdict


# lavaan's admissibility warnings and the words of sem's
CHECKS = [
    ("variances are negative", "is negative"),
    ("(theta) is not positive definite", "(theta)"),
    ("covariance matrix of latent variables is not positive definite", "of the latent variables"),
    ("(vcov) does not appear to be positive definite", "(vcov)"),
]


def close(a, b, rel, ab):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(ab, rel * abs(b))


def key(p):
    lhs, op, rhs = p["lhs"], p["op"], p.get("rhs", "") or ""
    if op == "~~" and rhs < lhs:
        lhs, rhs = rhs, lhs
    if op == ":=":
        rhs = ""
    return (lhs, op, rhs, max(1, int(p.get("group") or 1)))


def run_case(binary, d):
    args = open(os.path.join(d, "args")).read().split()
    t = time.time()
    r = subprocess.run([binary, "fit", os.path.join(d, "model.lav"), os.path.join(d, "data.csv"), "--format", "json", *args],
                       capture_output=True, text=True, timeout=600)
    secs = time.time() - t
    exp = json.load(open(os.path.join(d, "expected.json")))
    try:
        got = json.loads(r.stdout)
    except ValueError:
        if not exp["converged"]:
            return [], secs
        return [f"exit {r.returncode}: {r.stderr.strip()[:200]}"], secs
    bad = []
    if got.get("converged") != exp["converged"]:
        bad.append(f"converged {got.get('converged')} vs lavaan {exp['converged']}")
    if not exp["converged"]:
        return bad, secs
    gf, ef = got.get("fit", {}), exp.get("fit", {})
    for k in ["npar", "df"]:
        if gf.get(k) != ef.get(k):
            bad.append(f"{k} {gf.get(k)} vs lavaan {ef.get(k)}")
    for k in ["chisq", "chisq_scaled", "cfi", "rmsea", "srmr"]:
        if k in ef and ef[k] is not None and not close(gf.get(k), ef[k], 1e-3, 1e-3):
            bad.append(f"{k} {gf.get(k)} vs lavaan {ef[k]}")
    lw = open(os.path.join(d, "lavaan_warnings.txt")).read()
    ours = " ".join(got.get("warnings", []))
    for theirs, mine_ in CHECKS:
        if (theirs in lw) != (mine_ in ours):
            bad.append(f"warning `{theirs}`: lavaan {theirs in lw}, sem {mine_ in ours}")
    mine = {key(p): p for p in got.get("parameters", [])}
    uls = "uls" in open(os.path.join(d, "class")).read()
    for p in exp["parameters"]:
        g = mine.get(key(p))
        if g is None:
            bad.append(f"missing row {key(p)}")
            continue
        if not close(g.get("est"), p.get("est"), 1e-3, 5e-4):
            bad.append(f"{key(p)} est {g.get('est')} vs {p.get('est')}")
        if p.get("se") is not None and not close(g.get("se"), p["se"], 1e-3, 2e-3 if uls else 5e-4):
            bad.append(f"{key(p)} se {g.get('se')} vs {p.get('se')}")
    return bad, secs


def main():
    binary, root = sys.argv[1], sys.argv[2]
    verbose = "--verbose" in sys.argv
    cases = sorted(c for c in os.listdir(root) if os.path.exists(os.path.join(root, c, "expected.json")))
    per = defaultdict(lambda: [0, 0])
    total = [0, 0]
    slow = []
    for c in cases:
        d = os.path.join(root, c)
        cls = open(os.path.join(d, "class")).read().strip()
        try:
            bad, secs = run_case(binary, d)
        except subprocess.TimeoutExpired:
            bad, secs = ["timeout"], 600
        ok = not bad
        total[0] += ok
        total[1] += 1
        for feat in cls.split(":"):
            per[feat][0] += ok
            per[feat][1] += 1
        if secs > 2:
            slow.append((c, cls, round(secs, 1)))
        if not ok:
            print(f"DIFF {c} [{cls}]: " + ("; ".join(bad) if verbose else "; ".join(bad[:3]) + (f" (+{len(bad) - 3})" if len(bad) > 3 else "")))
    print()
    for feat in sorted(per):
        print(f"{feat:32s} {per[feat][0]:4d} / {per[feat][1]}")
    print(f"{'ALL':32s} {total[0]:4d} / {total[1]}")
    for s in slow:
        print("slow:", *s)


if __name__ == "__main__":
    main()
