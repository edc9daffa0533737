"""Validation and preparation of descriptor matrices before clustering."""

from vehiclust.prepare.mixer import DescriptorMixer
from vehiclust.prepare.prepared import PreparedSet
from vehiclust.prepare.preprocess import DescriptorPreparer, l2_normalize
from vehiclust.prepare.validate import Validation, validate_descriptors

__all__ = ["DescriptorMixer", "DescriptorPreparer", "PreparedSet", "Validation", "l2_normalize", "validate_descriptors"]
