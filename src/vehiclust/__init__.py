"""vehiclust: cluster vehicle images by their deep descriptors, find outliers, describe clusters."""

__version__ = "0.1.0"
