"""The cells of ``analysis.ipynb``.

Markdown cells hold only prose that is true of every run; every number, name and finding is
computed by a code cell from ``RunResults.load(".")`` and printed with ``show_md``, so the
text can never drift from the results it describes.
"""

from __future__ import annotations

# Each entry: ("markdown" | "code", source). Code runs with the run directory as cwd.
CELLS: list[tuple[str, str]] = [
    ("markdown", """# vehiclust analysis

This notebook walks through one `vehiclust run`. It reads the run's outputs in this folder
through the library (`RunResults.load(".")`) and recomputes nothing; re-run it to refresh.
Sections: data and validation → how each clustering was chosen → maps (an interactive 3-D
one too) → every set's clusters in words → outliers by reason → descriptor sets compared →
conclusion. Colours are the report's: one colour per cluster in both."""),
    ("code", """import html

import numpy as np
import pandas as pd
import matplotlib
import matplotlib.pyplot as plt
import plotly.io as pio
from IPython.display import Image, Markdown, display

from vehiclust.report import notebook_helpers as nh
from vehiclust.results import RunResults

pd.set_option("display.max_columns", 30)
pd.set_option("display.width", 160)
plt.rcParams["figure.dpi"] = 72
pio.renderers.default = "plotly_mimetype"  # interactive in JupyterLab, Notebook 7 and VS Code
results = RunResults.load(".")
best = results.descriptors[results.best]

def show_md(text):
    # names, labels and paths come from the data: '<', '>' and '&' show as text, never as HTML
    display(Markdown(html.escape(text, quote=False)))"""),
    ("markdown", "## 1. Data and validation"),
    ("code", """labels = nh.label_columns(results)
show_md(
    f"The run has **{results.n_rows:,}** rows and **{nh.plural(len(results.descriptors), 'descriptor set')}**: "
    + ", ".join(nh.md_code(name) for name in results.descriptors)
    + ". " + (f"Label columns (reported, never used to fit): {', '.join(nh.md_code(c) for c in labels)}." if labels
              else "No label columns were given.")
)
for column in labels:
    counts = results.samples[column].astype(object).fillna("(missing)").value_counts()
    show_md(f"{nh.md_code(column)}: {nh.plural(counts.size, 'value')}; most common " + ", ".join(f"{nh.md(k)} ({v:,})" for k, v in counts.head(6).items()) + ".")"""),
    ("code", """prep = pd.DataFrame({name: {k: v for k, v in run.preparation.items() if not isinstance(v, (dict, list))}
                     for name, run in results.descriptors.items()}).T
prep"""),
    ("code", """findings = results.validation
if findings.empty:
    show_md("Validation found nothing to report.")
else:
    by_severity = findings["severity"].value_counts() if "severity" in findings else pd.Series(dtype=int)
    show_md(f"Validation made **{nh.plural(len(findings), 'finding')}**: "
            + ", ".join(f"{s} {n}" for s, n in by_severity.items()) + ".")
    display(findings)"""),
    ("markdown", """## 2. How each clustering was chosen

Every configuration tried is one row of `selection.csv`; the curves show the internal
metrics against the number of clusters, per algorithm family, and the table gives the
chosen configuration of each descriptor set."""),
    ("code", """chosen = pd.DataFrame([{"descriptor": name, **{k: v for k, v in run.chosen.items() if not isinstance(v, (dict, list))}}
                       for name, run in results.descriptors.items()]).set_index("descriptor")
show_md("; ".join(f"{nh.md_code(name)}: {nh.md(nh.chosen_text(run.chosen))}" for name, run in results.descriptors.items()) + ".")
chosen"""),
    ("code", """for name, run in results.descriptors.items():
    fig = nh.selection_curves(run.selection, title=f"{name}: configurations tried", chosen=run.chosen)
    if fig is not None:
        plt.show()"""),
    ("markdown", "## 3. Maps\n\nEach point is one image, placed by its descriptor; colours are clusters (the report's colours), small black crosses are outliers."),
    ("code", """mapped = [name for name, run in results.descriptors.items() if run.coords_2d is not None]
if not mapped:
    show_md("This run has no map coordinates (the map stage did not run).")
else:
    show_md(f"Maps for {nh.plural(len(mapped), 'descriptor set')}: " + ", ".join(nh.md_code(m) for m in mapped) + ".")
    for name in mapped:
        nh.map_figure(results.descriptors[name], title=name)
        plt.show()"""),
    ("markdown", "The chosen set in 3-D, interactive: drag to turn, scroll to zoom, hover a point for its path, click a legend entry to hide or show a cluster (outliers start hidden when there are many)."),
    ("code", """fig3d = nh.map_3d(best, results)
if fig3d is None:
    show_md(f"{nh.md_code(results.best)} has no 3-D coordinates.")
else:
    fig3d.show()"""),
    ("markdown", "## 4. Clusters and their descriptions\n\nEvery descriptor set's clusters in words (largest first, from the names and descriptions the describe stage wrote), then the chosen set's clusters with the images closest to their centres."),
    ("code", """for name in results.descriptors:
    show_md(nh.interpret_set(results, name))"""),
    ("code", """summary = nh.cluster_summary(best)
show_md(f"{nh.md_code(results.best)} has **{len(summary)}** clusters; the largest holds "
        f"{summary['size'].max():,} rows ({summary['share'].max():.1%}), the smallest {summary['size'].min():,}."
        if len(summary) else f"{nh.md_code(results.best)} produced no clusters.")
summary"""),
    ("code", """root = nh.images_root(results, override=IMAGES_ROOT)
for cluster in nh.cluster_ids(best):
    row = summary.set_index("cluster").loc[cluster]
    text = f"### {nh.md(nh.cluster_label(best, cluster))}\\n\\n{int(row['size']):,} images ({row['share']:.1%})."
    if isinstance(row.get("description"), str) and row["description"]:
        text += f" *{nh.md(row['description'])}*"
    show_md(text)
    if not nh.show_gallery(results, best, cluster, root=root):
        show_md("(no images available for this run)")"""),
    ("markdown", "## 5. Outliers: image problems first, then rare-looking images\n\n*Image problems* are something wrong with the image itself (unreadable, blurry, dark, overexposed, a duplicate, no vehicle); *rare-looking* images are fine images far from the mass of the data. Then every reason on its own; a row may carry several."),
    ("code", """for title, table, rows in nh.outliers_by_kind(results, best):
    show_md(f"**{title}** (worst first; each duplicate is shown next to its twin)")
    if len(table):
        display(table)
        nh.show_rows(results, np.asarray(rows), root=root)"""),
    ("code", """reasons = nh.reason_counts(best)
n_out = int(nh.outlier_frame(best)["is_outlier"].sum())
show_md(f"**{n_out:,}** of {results.n_rows:,} rows ({n_out / max(results.n_rows, 1):.1%}) are outliers in {nh.md_code(results.best)}"
        + (": " + ", ".join(f"{nh.md(r)} {n:,}" for r, n in zip(reasons['reason'], reasons['rows'])) + "." if len(reasons) else "."))
reasons"""),
    ("code", """for reason, rows in nh.outlier_rows_by_reason(best, n=8).items():
    show_md(f"**{nh.md(reason)}**")
    if not nh.show_rows(results, rows, root=root):
        display(results.samples.iloc[rows][["path"]])"""),
    ("markdown", "## 6. Descriptor sets compared\n\nInternal metrics are computed the same way for every set; labels, when given, are only reported."),
    ("code", """if results.comparison is None:
    show_md("This run has no comparison table.")
else:
    display(results.comparison)
if results.agreement is not None:
    show_md("Agreement between the clusterings of each pair of descriptor sets (adjusted Rand index):")
    nh.heatmap(results.agreement, title="agreement (ARI)")
    plt.show()
if results.attribute_alignment is not None:
    show_md("How strongly each set's clusters align with each attribute:")
    display(results.attribute_alignment)
for title, path in nh.comparison_figures(results, "."):
    show_md(f"*{nh.md(title)}*")
    display(Image(filename=str(path)))"""),
    ("code", """show_md(nh.comparison_text(results))"""),
    ("markdown", "## 7. Conclusion"),
    ("code", """show_md(nh.conclusion(results))"""),
]
