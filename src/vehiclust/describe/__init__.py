"""Describe clusters from evidence: pixel colour and light, model heads, labels; galleries."""

from vehiclust.evidence.colour import COLOURS, colour_shares, image_colour, srgb_to_lab
from vehiclust.describe._describer import ClusterDescriber, describe_clusters
from vehiclust.describe._evidence import ClusterEvidence
from vehiclust.describe._gallery import montage
from vehiclust.evidence.head_models import IMAGENET_TYPES, head_evidence, imagenet_heads, imagenet_masses
from vehiclust.evidence.pixels import measure_image, pixel_evidence
from vehiclust.evidence.prefetch import PREFETCH_MAX_IMAGES, prefetch_evidence
from vehiclust.describe._runs import describe_run
from vehiclust.evidence import EvidenceCache, read_head_table  # re-exported: their home is vehiclust.evidence

__all__ = [
    "COLOURS", "ClusterDescriber", "ClusterEvidence", "EvidenceCache", "IMAGENET_TYPES",
    "colour_shares", "describe_clusters", "head_evidence", "image_colour", "imagenet_heads", "imagenet_masses", "measure_image",
    "montage", "pixel_evidence", "PREFETCH_MAX_IMAGES", "prefetch_evidence", "srgb_to_lab", "describe_run", "read_head_table",
]
