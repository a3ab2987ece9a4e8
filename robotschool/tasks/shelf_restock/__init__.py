"""shelf_restock station: the task (scene, randomisation, success), the shelf and goods builders, gap detection
from the head camera, and the scripted operator."""
from robotschool.tasks.shelf_restock.task import ShelfRestock, ShelfRestockConfig

__all__ = ["ShelfRestock", "ShelfRestockConfig"]
