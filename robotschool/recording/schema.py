"""Names and version of the HDF5 dataset layout (robomimic-compatible plus robotschool additions).

Every key used by more than one module is a constant here, never a repeated string literal.
See README.md ("Dataset schema") for the full layout.
"""
from __future__ import annotations

SCHEMA_VERSION = "1.0"

DATA = "data"
MASK = "mask"
DEMO_PREFIX = "demo_"

OBS = "obs"
NEXT_OBS = "next_obs"
ACTIONS = "actions"
ACTION_DICT = "action_dict"
REWARDS = "rewards"
DONES = "dones"
STATES = "states"
OPERATOR = "operator"

# observation keys (robot0_* follows robosuite/robomimic naming)
OBS_EEF_POS = "robot0_{arm}_eef_pos"
OBS_EEF_QUAT = "robot0_{arm}_eef_quat"
OBS_GRIPPER_QPOS = "robot0_{arm}_gripper_qpos"
OBS_JOINT_POS = "robot0_joint_pos"
OBS_JOINT_VEL = "robot0_joint_vel"
OBS_BASE_POSE = "robot0_base_pose"
OBS_BASE_VEL = "robot0_base_vel"       # current base twist (vx, vy, wz) in the base frame
OBS_OBJECT = "object"
OBS_IMAGE = "{camera}_image"
OBS_DEPTH = "{camera}_depth"

# action_dict keys
ACT_EE_ABS = "ee_abs"
ACT_EE_DELTA = "ee_delta"
ACT_JOINT_POS = "joint_pos"
ACT_GRIPPER = "gripper"
ACT_BASE_TWIST = "base_twist"

# operator/ stream keys read by more than one module (the full row is recording/recorder.py:operator_row)
OP_TIMESTAMP = "timestamp"          # when the device took the sample (wall clock for live devices, sim time else)
OP_APPLIED_TIME = "applied_time"    # live loops only: wall clock right after the joint targets were applied
OP_PHASE = "phase"                  # the operator's subtask label per step (scripted: its phase, e.g. "scoop")
OP_PERTURB_OFFSET = "perturb_offset"  # recovery demos only (generate --perturb): (T, 6) offset pushed onto the hands

# masks
MASK_TRAIN = "train"
MASK_VALID = "valid"
MASK_SUCCESS = "success"
MASK_FAILED = "failed"


def demo_name(index: int) -> str:
    return f"{DEMO_PREFIX}{index}"


def demo_index(name: str) -> int:
    return int(name[len(DEMO_PREFIX):])


def is_image_key(key: str) -> bool:
    return key.endswith("_image")


def is_depth_key(key: str) -> bool:
    return key.endswith("_depth")


# demo-group additions and attribute names (written by recording/writer.py, read by data/ and tools)
FINAL_OBS = "final_obs"                    # demo group: each obs key as one row (1, ...), source of next_obs[T-1]
ATTR_NUM_SAMPLES = "num_samples"           # demo attr (robomimic)
ATTR_SUCCESS = "success"                   # demo attr, bool
ATTR_KEY = "robotschool_key"               # demo attr: the caller's id of the episode (e.g. attempt_00017)
ATTR_SHARD = "robotschool_shard"           # demo attr: unique id of the staging shard it was committed from
ATTR_TOTAL = "total"                       # data attr (robomimic): sum of num_samples
ATTR_SCHEMA_VERSION = "schema_version"     # data attr
ATTR_SCENE = "scene"                       # data attr
ATTR_INSTRUCTION = "instruction"           # demo attr: the episode's natural-language instruction
ATTR_ENV_ARGS = "env_args"                 # data attr (robomimic), JSON
ATTR_CONFIG = "config"                     # data attr, YAML
ATTR_PERTURB = "perturb"                   # data attr (generate --perturb only): JSON of the perturbation settings
