"""tray_unloading station: the task (scene, randomisation, success) and its scripted operator."""
from robotschool.tasks.tray_unloading.task import TrayUnloading, TrayUnloadingConfig

__all__ = ["TrayUnloading", "TrayUnloadingConfig"]
