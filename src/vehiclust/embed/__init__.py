"""Maps: 2-D and 3-D coordinates of every row, their quality, and the map PNGs."""

from vehiclust.embed._embedder import METHODS, MapEmbedder, embed
from vehiclust.embed._quality import neighbourhood_preservation
from vehiclust.embed._render import cluster_colours, cluster_palette, render_map
from vehiclust.embed._runs import full_coords, map_run, render_run_maps

__all__ = ["METHODS", "MapEmbedder", "embed", "neighbourhood_preservation", "render_map", "cluster_colours", "cluster_palette",
           "full_coords", "map_run", "render_run_maps"]
