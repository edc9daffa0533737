"""Reading the case: descriptor files, image paths, labels; atomic writing of outputs."""

from vehiclust.io._text import read_text_csv
from vehiclust.io.case import Case, load_case, parse_named_paths
from vehiclust.io.descriptors import content_key, load_descriptors
from vehiclust.io.labels import read_labels
from vehiclust.io.paths import check_folder_name, normalise_path, read_given_paths, read_paths, resolve_under_root

__all__ = [
    "Case",
    "check_folder_name",
    "content_key",
    "load_case",
    "load_descriptors",
    "normalise_path",
    "parse_named_paths",
    "read_labels",
    "read_given_paths",
    "read_paths",
    "read_text_csv",
    "resolve_under_root",
]
