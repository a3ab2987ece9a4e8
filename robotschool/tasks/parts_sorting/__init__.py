"""parts_sorting station: the task (scene, randomisation, success) and its scripted operator."""
from robotschool.tasks.parts_sorting.task import PartsSorting, PartsSortingConfig, footprint_rect

__all__ = ["PartsSorting", "PartsSortingConfig", "footprint_rect"]
