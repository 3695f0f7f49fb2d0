#!/usr/bin/env python3
"""Independent reference figures for the fixed dataset in src/report.rs tests.

Rebuilds the same dataset (see `fixture()` in src/report.rs) with NumPy, computes
the report's figures with SciPy / statsmodels, and prints them; the numbers are
pasted into the Rust test. Run: python3 scripts/report_reference.py
(needs numpy, scipy, statsmodels).
"""
import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

def arm(prefix, n, convert_every, rev):
    """Per-order upsell revenue (cents), lines and parent order values (cents)."""
    revenue = np.zeros(n)
    lines = np.zeros(n, dtype=int)
    value = np.array([2000 + (i % 50) * 100 for i in range(n)], dtype=float)
    for i in range(n):
        if convert_every and i % convert_every == 0:
            revenue[i] += rev(i)
            lines[i] += 1
            if prefix == "A" and i % 40 == 0:
                revenue[i] += 450
                lines[i] += 1
    return revenue, lines, value

arms = {
    "ai": arm("A", 2400, 20, lambda i: 300 + (i * 7) % 900),
    "curated": arm("C", 2400, 30, lambda i: 250 + (i * 11) % 700),
    "holdout": arm("H", 600, 0, None),
}
# Impressions: ai and curated orders with i % 3 != 0 (one each); clicks: i % 10 == 0.
imps = {a: sum(1 for i in range(len(arms[a][0])) if i % 3 != 0) if a != "holdout" else 0 for a in arms}

for name, (rev, lines, value) in arms.items():
    n = len(rev)
    conv_orders = int((lines > 0).sum())
    lo, hi = proportion_confint(conv_orders, n, alpha=0.05, method="wilson")
    print(f"{name}: orders={n} converted={conv_orders} lines={lines.sum()} "
          f"attach={conv_orders/n!r} wilson=({lo!r}, {hi!r}) "
          f"conv_per_imp={(lines.sum()/imps[name]) if imps[name] else None!r} "
          f"rev={rev.sum()/100!r} rev1000={1000*rev.sum()/100/n!r} "
          f"aov={value.mean()/100!r} aov_up={(value+rev).mean()/100!r}")

for control, alpha in [("curated", 0.05), ("holdout", 0.05), ("curated", 0.01)]:
    a_rev, a_lines, _ = arms["ai"]
    c_rev, c_lines, _ = arms[control]
    xa, xc = int((a_lines > 0).sum()), int((c_lines > 0).sum())
    lo, hi = confint_proportions_2indep(xa, len(a_rev), xc, len(c_rev),
                                        method="newcomb", compare="diff", alpha=alpha)
    if xc:
        rlo, rhi = confint_proportions_2indep(xa, len(a_rev), xc, len(c_rev),
                                              method="log", compare="ratio", alpha=alpha)
        print(f"ai vs {control} alpha={alpha}: relative lift CI (Katz log) = ({rlo - 1!r}, {rhi - 1!r})")
    t = stats.ttest_ind(a_rev / 100, c_rev / 100, equal_var=False)
    ci = t.confidence_interval(1 - alpha)
    print(f"ai vs {control} alpha={alpha}: diff={xa/len(a_rev)-xc/len(c_rev)!r} "
          f"newcombe=({lo!r}, {hi!r}) rel={(xa/len(a_rev))/(xc/len(c_rev))-1 if xc else None!r} "
          f"welch_rev1000=({1000*(a_rev.mean()-c_rev.mean())/100!r}, {1000*ci.low!r}, {1000*ci.high!r}) df={t.df!r}")
