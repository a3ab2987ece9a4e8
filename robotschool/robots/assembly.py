"""Assemble one robot URDF from several: bring-your-own arms on a torso you describe in the robot YAML.

Many two-armed setups are two single-arm URDFs (two Franka Pandas, two UR5s) bolted to a torso or a table.
A robot YAML may therefore give an `assembly` instead of a `urdf`: primitive links (the torso, a head),
the arm URDFs with a name prefix and a mount pose, and extra fixed frames (a tool centre point where the
vendor URDF has none in our convention). `build_urdf` merges them into one URDF file, so everything
downstream (PyBullet, the numpy kinematics, the IK, the recorder) sees one ordinary robot.

Conventions the merged robot must follow (the same as the humanoid's): the TCP frame's -z axis is the
approach direction (fingers point along -z) and the fingers close along its y axis; use a `frames` entry
to add such a TCP to a vendor hand.

The merged file is written atomically to a cache directory keyed by a hash of its content
($ROBOTSCHOOL_CACHE or ~/.cache/robotschool), with mesh paths made absolute.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from robotschool.config import check
from robotschool.errors import ConfigError


@dataclass(frozen=True)
class BoxLink:
    """A box-shaped link fixed to `parent` ("" for the root link of the assembly)."""

    name: str
    size: tuple[float, float, float]
    parent: str = ""
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)     # joint origin in the parent link frame
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # box centre in the link frame
    mass: float = field(default=1.0, metadata=check(lo=0.0))
    rgba: tuple[float, float, float, float] = (0.8, 0.8, 0.82, 1.0)


@dataclass(frozen=True)
class PartSpec:
    """A URDF (path relative to the YAML, or pybullet_data:<path>) mounted on `parent` under a name prefix."""

    urdf: str
    prefix: str
    parent: str
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class FrameSpec:
    """A massless fixed frame (e.g. a tool centre point) on an existing link."""

    name: str
    parent: str
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class AssemblySpec:
    boxes: list[BoxLink]                       # the first one with parent "" is the root (the base link)
    parts: list[PartSpec] = field(default_factory=list)
    frames: list[FrameSpec] = field(default_factory=list)


def resolve_urdf(path: str, relative_to: Path) -> Path:
    if path.startswith("pybullet_data:"):
        import pybullet_data
        return Path(pybullet_data.getDataPath()) / path.split(":", 1)[1]
    p = Path(path)
    return p if p.is_absolute() else relative_to / p


def _vec(v) -> str:
    return " ".join(f"{float(x):.9g}" for x in v)


def _inertial(mass: float, size) -> ET.Element:
    x, y, z = size
    e = ET.Element("inertial")
    ET.SubElement(e, "origin", xyz="0 0 0", rpy="0 0 0")
    ET.SubElement(e, "mass", value=f"{max(mass, 1e-3):.6g}")
    m = max(mass, 1e-3)
    ET.SubElement(e, "inertia", ixx=f"{m * (y * y + z * z) / 12:.6g}", iyy=f"{m * (x * x + z * z) / 12:.6g}",
                  izz=f"{m * (x * x + y * y) / 12:.6g}", ixy="0", ixz="0", iyz="0")
    return e


def _fixed_joint(name: str, parent: str, child: str, pos, rpy) -> ET.Element:
    j = ET.Element("joint", name=name, type="fixed")
    ET.SubElement(j, "parent", link=parent)
    ET.SubElement(j, "child", link=child)
    ET.SubElement(j, "origin", xyz=_vec(pos), rpy=_vec(rpy))
    return j


def build_urdf(spec: AssemblySpec, name: str, yaml_dir: Path) -> Path:
    """Merge the assembly into one URDF file and return its path (cached by content)."""
    robot = ET.Element("robot", name=name)
    links: set[str] = set()
    roots = [b for b in spec.boxes if not b.parent]
    if len(roots) != 1:
        raise ConfigError(f"assembly of {name}: exactly one box needs parent \"\" (the root link), got {len(roots)}")
    for b in spec.boxes:
        link = ET.SubElement(robot, "link", name=b.name)
        link.append(_inertial(b.mass, b.size))
        for tag in ("visual", "collision"):
            el = ET.SubElement(link, tag)
            ET.SubElement(el, "origin", xyz=_vec(b.offset), rpy="0 0 0")
            ET.SubElement(ET.SubElement(el, "geometry"), "box", size=_vec(b.size))
            if tag == "visual":
                mat = ET.SubElement(el, "material", name=f"{b.name}_color")
                ET.SubElement(mat, "color", rgba=_vec(b.rgba))
        links.add(b.name)
        if b.parent:
            robot.append(_fixed_joint(f"{b.name}_mount", b.parent, b.name, b.pos, b.rpy))
    for part in spec.parts:
        path = resolve_urdf(part.urdf, yaml_dir)
        if not path.is_file():
            raise ConfigError(f"assembly of {name}: URDF {path} not found (key 'urdf' of part {part.prefix!r})")
        try:
            tree = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise ConfigError(f"assembly of {name}: {path} is not valid XML ({exc})") from None
        child_links = {j.find("child").get("link") for j in tree.iter("joint")}
        part_links = [lk.get("name") for lk in tree.findall("link")]
        part_roots = [n for n in part_links if n not in child_links]
        if len(part_roots) != 1:
            raise ConfigError(f"assembly of {name}: {path.name} has {len(part_roots)} root links; expected 1")
        for el in tree:
            if el.tag not in ("link", "joint", "material"):
                continue
            el = _prefixed(el, part.prefix, path.parent)
            robot.append(el)
            if el.tag == "link":
                links.add(el.get("name"))
        robot.append(_fixed_joint(f"{part.prefix}mount", part.parent, part.prefix + part_roots[0], part.pos, part.rpy))
    for fr in spec.frames:
        link = ET.SubElement(robot, "link", name=fr.name)
        link.append(_inertial(0.001, (0.01, 0.01, 0.01)))
        robot.append(_fixed_joint(f"{fr.name}_frame", fr.parent, fr.name, fr.pos, fr.rpy))
        links.add(fr.name)
    for j in robot.iter("joint"):
        for end in ("parent", "child"):
            ref = j.find(end).get("link")
            if ref not in links:
                raise ConfigError(f"assembly of {name}: joint {j.get('name')!r} refers to unknown link {ref!r}")
    text = ET.tostring(robot, encoding="unicode")
    return _write_cached(text, name)


def _prefixed(el: ET.Element, prefix: str, base_dir: Path) -> ET.Element:
    """A copy of a part's link/joint/material with prefixed names and absolute mesh paths."""
    el = ET.fromstring(ET.tostring(el))
    if el.tag in ("link", "joint"):
        el.set("name", prefix + el.get("name"))
    for tag in ("parent", "child"):
        for ref in el.iter(tag):
            ref.set("link", prefix + ref.get("link"))
    for mimic in el.iter("mimic"):
        mimic.set("joint", prefix + mimic.get("joint"))
    for mat in el.iter("material"):
        if mat.get("name"):
            mat.set("name", prefix + mat.get("name"))
    for mesh in el.iter("mesh"):
        fn = mesh.get("filename", "")
        rel = fn.split("://", 1)[1] if "://" in fn else fn
        mesh.set("filename", str((base_dir / rel).resolve()) if not os.path.isabs(rel) else rel)
    return el


def _write_cached(text: str, name: str) -> Path:
    root = Path(os.environ.get("ROBOTSCHOOL_CACHE") or Path.home() / ".cache" / "robotschool") / "urdf"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = root / f"{name}-{digest}.urdf"
    if path.is_file():
        return path
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the assembled URDF of {name} to {root} ({exc.strerror}); "
                          "set ROBOTSCHOOL_CACHE to a writable folder") from None
    return path


__all__ = ["AssemblySpec", "BoxLink", "FrameSpec", "PartSpec", "build_urdf"]
