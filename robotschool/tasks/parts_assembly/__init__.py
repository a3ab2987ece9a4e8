"""parts_assembly station: the task (scene, randomisation, success), its fixture builder and scripted operator."""
from robotschool.tasks.parts_assembly.task import PartsAssembly, PartsAssemblyConfig

__all__ = ["PartsAssembly", "PartsAssemblyConfig"]
