"""Image quality checks, cleanvision-style: measure each image once, then score and mark.

The measuring is the evidence layer's (:class:`vehiclust.evidence.ImagePropertiesSource` and
the vehicle detector in :mod:`vehiclust.evidence.vehicle`, cached per image); this package
holds the checks that score those measurements (``CHECKS``) and :class:`ImageChecker`.

Problems: missing file, unreadable, odd size, blurry, dark, overexposed, low information,
near duplicate and no vehicle (the Open Model Zoo vehicle detector).
"""

from vehiclust.quality._checker import DEFAULT_CHECKS, ImageChecker, check_images, make_checks, score_checks
from vehiclust.quality._checks import (
    CHECKS,
    BlurryCheck,
    DarkCheck,
    ImageCheck,
    LowInformationCheck,
    MissingFileCheck,
    NearDuplicateCheck,
    NoVehicleCheck,
    OddSizeCheck,
    OverexposedCheck,
    UnreadableCheck,
)
from vehiclust.quality._duplicates import duplicate_groups
from vehiclust.evidence.properties import PropertyCache, laplacian_variance, measure_cached, measure_image, measure_properties
from vehiclust.evidence.vehicle import BOX_COLUMNS, VehicleDetector, detect_vehicle_boxes

__all__ = [
    "BOX_COLUMNS",
    "CHECKS",
    "DEFAULT_CHECKS",
    "BlurryCheck",
    "DarkCheck",
    "ImageCheck",
    "ImageChecker",
    "LowInformationCheck",
    "MissingFileCheck",
    "NearDuplicateCheck",
    "NoVehicleCheck",
    "OddSizeCheck",
    "OverexposedCheck",
    "PropertyCache",
    "UnreadableCheck",
    "VehicleDetector",
    "check_images",
    "detect_vehicle_boxes",
    "duplicate_groups",
    "laplacian_variance",
    "make_checks",
    "measure_cached",
    "measure_image",
    "measure_properties",
    "score_checks",
]
