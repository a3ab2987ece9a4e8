"""kitchen_stirfry station: the task (scene, randomisation, success), its heat model, builders and operator."""
from robotschool.tasks.kitchen_stirfry.task import KitchenStirfry, KitchenStirfryConfig

__all__ = ["KitchenStirfry", "KitchenStirfryConfig"]
