"""Compare descriptor sets, mix them, build a consensus and pick the best for clusters.csv.

Public API:

* :func:`build_mixes` / :class:`DescriptorMixer`: weighted mixes with equal-variance blocks;
* :func:`consensus_embedding`, :func:`consensus_set`, :func:`make_consensus`: spectral embedding
  of the co-association of several clusterings, and that embedding clustered as one more set
  (with its outlier vote and assignment model; the pipeline's maps and describe stages then
  treat it like any set);
* :class:`Candidate`, :func:`compare_candidates`: the comparison table, scored the same way;
* :func:`choose_best`, :func:`rank_candidates`: the documented, label-free selection rule, gated
  on validity and ranked by :func:`candidate_predictivity` (cross-view neighbourhood predictivity);
* :func:`what_follows`: what each clustering follows (type, colour, light, quality, same vehicle);
* :func:`redundancy`: how far one set's space is a function of another's neighbourhoods (sets
  at :data:`~vehiclust.compare._predictivity.REDUNDANT` or more count as one view in the rule);
* :func:`auto_weights`: label-free block weights for ``--mix auto`` and ``--mix all``;
* :func:`agreement_matrices`, :func:`neighbourhood_overlap`, :func:`attribute_alignment`,
  :func:`gather_attributes`: how candidates relate to each other and to attributes;
* :func:`compare_run`: everything above for one pipeline run, figures included.
"""

from vehiclust.compare._agreement import (
    agreement_matrices,
    attribute_alignment,
    correlation_ratio,
    explained_uncertainty,
    label_scores,
    neighbourhood_overlap,
)
from vehiclust.compare._compare import Candidate, common_space, compare_candidates
from vehiclust.compare._consensus import CONSENSUS, coassociation_onehot, consensus_applies, consensus_embedding, consensus_set
from vehiclust.compare._evidence import gather_attributes, head_attributes, pixel_attributes, source_attributes, type_evidence
from vehiclust.compare._metrics import (
    common_silhouette,
    cosine_silhouette,
    estimator_refit,
    kmeans_refit,
    sphere_davies_bouldin,
    stability,
)
from vehiclust.compare._follows import follows_sentence, identity_from_paths, pairs_together, what_follows
from vehiclust.compare._mix import AUTO, AUTO_NAME, DescriptorMixer, auto_weights, build_mixes, is_auto, mix_name, parse_mix_spec
from vehiclust.compare._predictivity import assortativity, candidate_predictivity, knn_indices, one_view_note, redundancy
from vehiclust.compare._plots import contingency, plot_contingency, plot_matrix
from vehiclust.compare._report import CompareOutput, choose_single, compare_run, make_consensus
from vehiclust.evidence import label_columns  # re-exported: its home is vehiclust.evidence
from vehiclust.compare._select import (
    SELECTION_SCORES,
    check_best_name,
    choose_best,
    label_disagreement,
    rank_candidates,
)

__all__ = [
    "AUTO",
    "is_auto",
    "choose_single",
    "type_evidence",
    "AUTO_NAME",
    "CONSENSUS",
    "Candidate",
    "CompareOutput",
    "DescriptorMixer",
    "SELECTION_SCORES",
    "agreement_matrices",
    "assortativity",
    "attribute_alignment",
    "auto_weights",
    "build_mixes",
    "candidate_predictivity",
    "check_best_name",
    "choose_best",
    "coassociation_onehot",
    "common_silhouette",
    "common_space",
    "compare_candidates",
    "compare_run",
    "consensus_applies",
    "consensus_embedding",
    "consensus_set",
    "contingency",
    "correlation_ratio",
    "cosine_silhouette",
    "estimator_refit",
    "explained_uncertainty",
    "follows_sentence",
    "gather_attributes",
    "head_attributes",
    "identity_from_paths",
    "kmeans_refit",
    "knn_indices",
    "label_columns",
    "label_disagreement",
    "label_scores",
    "make_consensus",
    "mix_name",
    "neighbourhood_overlap",
    "one_view_note",
    "pairs_together",
    "parse_mix_spec",
    "pixel_attributes",
    "plot_contingency",
    "plot_matrix",
    "rank_candidates",
    "redundancy",
    "source_attributes",
    "sphere_davies_bouldin",
    "stability",
    "what_follows",
]
