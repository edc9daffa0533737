"""ImageNet-1k class names (index = class id) and which of them are road vehicles."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

# Road vehicles and their parts, by class id. A high total probability on these says "there
# is a vehicle in the image"; a low one is a hint that the crop shows road, sign or tree.
VEHICLE_CLASS_IDS = (
    407,  # ambulance
    436,  # beach wagon, station wagon
    444,  # bicycle-built-for-two
    468,  # cab, taxi
    479,  # car wheel
    511,  # convertible
    555,  # fire engine
    569,  # garbage truck
    573,  # go-kart
    575,  # golfcart
    581,  # grille, radiator grille
    586,  # half track
    595,  # harvester
    603,  # horse cart
    609,  # jeep
    627,  # limousine
    654,  # minibus
    656,  # minivan
    661,  # Model T
    665,  # moped
    670,  # motor scooter
    671,  # mountain bike
    675,  # moving van
    705,  # passenger car (railway)
    717,  # pickup truck
    734,  # police van
    751,  # racer, race car
    757,  # recreational vehicle
    779,  # school bus
    803,  # snowplow
    817,  # sports car
    829,  # streetcar, tram
    847,  # tank
    864,  # tow truck
    866,  # tractor
    867,  # trailer truck, tractor trailer, lorry
    870,  # tricycle
    874,  # trolleybus
    880,  # unicycle
)


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """Short English name of each of the 1,000 classes (first synonym)."""
    text = resources.files("vehiclust.extract").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.split(",")[0].strip() for line in text.splitlines() if line.strip())
    return names


def vehicle_mask() -> np.ndarray:
    mask = np.zeros(1000, dtype=bool)
    mask[list(VEHICLE_CLASS_IDS)] = True
    return mask
