"""kitchen_soup station: the task (scene, randomisation, success), its kitchenware builders and scripted operator."""
from robotschool.tasks.kitchen_soup.task import KitchenSoup, KitchenSoupConfig

__all__ = ["KitchenSoup", "KitchenSoupConfig"]
