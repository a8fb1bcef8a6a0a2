"""Which bone of a character rig plays which SMPL joint (bpy-free).

A *map* is a dict SMPL joint name -> target bone name. It is found one of three ways:

* a **preset** (:data:`PRESETS`): the bone names of a well-known rig family written down as data.
  An entry may list alternatives (first one the rig has wins), e.g. Unreal's UE4 Mannequin has
  ``spine_03`` where UE5's Manny has ``spine_05`` above it;
* **auto-detection** (:func:`detect_preset`): the preset whose bones the rig has most of;
* **name matching** (:func:`match_by_names`) for any other rig: names are normalised (namespace
  prefixes such as ``mixamorig:``, ``DEF-``, ``Bip01``, case, separators, side markers ``L``/``R``/
  ``Left``/``.l``/``_r``...), their core word is looked up among synonyms (upleg/thigh/upperleg,
  forearm/lowerarm, clavicle/collar/shoulder...), and the hierarchy settles the rest (spine
  segments, which of several matches is the main bone, twist bones left out).

The SMPL joint names are the bone names of the capture armature (``skeleton.JOINT_NAMES``). The
SMPL ``*_hand`` joints (finger base) are never mapped: the wrist bone carries the hand.
"""

from __future__ import annotations

import re

from .shared import skeleton

#: SMPL joints a map may use (every joint but the finger bases).
MAPPABLE = tuple(n for n in skeleton.JOINT_NAMES if not n.endswith("_hand"))
#: Joints a usable map must have: enough to drive the body, both legs and both arms.
REQUIRED = ("pelvis", "left_hip", "left_knee", "left_ankle", "right_hip", "right_knee",
            "right_ankle", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
            "right_elbow", "right_wrist", "head")


def _sided(pattern: dict[str, str], left: str, right: str) -> dict[str, str]:
    """Expand ``{"hip": "{S}UpLeg"}`` into left_/right_ entries with the side spellings given."""
    out = {}
    for joint, name in pattern.items():
        out[f"left_{joint}"] = name.replace("{S}", left)
        out[f"right_{joint}"] = name.replace("{S}", right)
    return out


def _preset(center: dict, sided: dict, left: str, right: str) -> dict[str, tuple[str, ...]]:
    raw = dict(center)
    raw.update(_sided(sided, left, right))
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in raw.items()}


_MIXAMO = _preset(
    {"pelvis": "mixamorig:Hips", "spine1": "mixamorig:Spine", "spine2": "mixamorig:Spine1",
     "spine3": "mixamorig:Spine2", "neck": "mixamorig:Neck", "head": "mixamorig:Head"},
    {"hip": "mixamorig:{S}UpLeg", "knee": "mixamorig:{S}Leg", "ankle": "mixamorig:{S}Foot",
     "foot": "mixamorig:{S}ToeBase", "collar": "mixamorig:{S}Shoulder",
     "shoulder": "mixamorig:{S}Arm", "elbow": "mixamorig:{S}ForeArm",
     "wrist": "mixamorig:{S}Hand"},
    "Left", "Right")

_RIGIFY_METARIG = _preset(
    {"pelvis": "spine", "spine1": "spine.001", "spine2": "spine.002", "spine3": "spine.003",
     "neck": "spine.004", "head": "spine.006"},
    {"hip": "thigh{S}", "knee": "shin{S}", "ankle": "foot{S}", "foot": "toe{S}",
     "collar": "shoulder{S}", "shoulder": "upper_arm{S}", "elbow": "forearm{S}",
     "wrist": "hand{S}"},
    ".L", ".R")

#: The generated Rigify rig is driven through its FK controls (its IK/FK switches are set to FK);
#: they hang under MCH bones with constraints, so the keys are solved against Blender's
#: evaluation of the rig (``build.retarget``).
_RIGIFY = _preset(
    {"pelvis": "torso", "spine1": "spine_fk.001", "spine2": "spine_fk.002",
     "spine3": "spine_fk.003", "neck": "neck", "head": "head"},
    {"hip": "thigh_fk{S}", "knee": "shin_fk{S}", "ankle": "foot_fk{S}", "foot": "toe_fk{S}",
     "collar": "shoulder{S}", "shoulder": "upper_arm_fk{S}", "elbow": "forearm_fk{S}",
     "wrist": "hand_fk{S}"},
    ".L", ".R")

_UNREAL = _preset(
    {"pelvis": "pelvis", "spine1": "spine_01", "spine2": "spine_02", "spine3": "spine_03",
     "neck": "neck_01", "head": "head"},
    {"hip": "thigh{S}", "knee": "calf{S}", "ankle": "foot{S}", "foot": "ball{S}",
     "collar": "clavicle{S}", "shoulder": "upperarm{S}", "elbow": "lowerarm{S}",
     "wrist": "hand{S}"},
    "_l", "_r")

_UNREAL_MANNY = dict(_UNREAL, spine2=("spine_03",), spine3=("spine_05",))

_MAKEHUMAN_DEFAULT = _preset(
    {"pelvis": "root", "spine1": "spine04", "spine2": "spine03", "spine3": "spine01",
     "neck": "neck01", "head": "head"},
    {"hip": "upperleg01{S}", "knee": "lowerleg01{S}", "ankle": "foot{S}",
     "foot": "toe1-1{S}", "collar": "clavicle{S}", "shoulder": "upperarm01{S}",
     "elbow": "lowerarm01{S}", "wrist": "wrist{S}"},
    ".L", ".R")

_MAKEHUMAN_CMU_MB = _preset(
    {"pelvis": "Hips", "spine1": "LowerBack", "spine2": "Spine", "spine3": "Spine1",
     "neck": "Neck", "head": "Head"},
    {"hip": "{S}UpLeg", "knee": "{S}Leg", "ankle": "{S}Foot", "foot": "{S}ToeBase",
     "collar": "{S}Shoulder", "shoulder": "{S}Arm", "elbow": "{S}ForeArm", "wrist": "{S}Hand"},
    "Left", "Right")

#: Preset name -> {target bone: SMPL joint}: bones outside the map that turn with a joint too.
#: Rigify's FK spine pivots at the torso: its hips bone (``spine_fk``) hangs from the lower-spine
#: control and carries the legs, so it is turned with the pelvis (else the thighs would swing
#: with every bend of the lower spine).
EXTRA: dict[str, dict[str, str]] = {"rigify": {"spine_fk": "pelvis"}}

#: Preset name -> {SMPL joint: alternatives of target bone names}.
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "mixamo": _MIXAMO,
    "rigify": _RIGIFY,
    "rigify_metarig": _RIGIFY_METARIG,
    "unreal_manny": _UNREAL_MANNY,  # before "unreal": a tie goes to the first, and UE4's rig
    "unreal": _UNREAL,              # lacks spine_05, so only Manny resolves all of Manny's
    "makehuman_default": _MAKEHUMAN_DEFAULT,
    "makehuman_game_engine": _UNREAL,  # MakeHuman's game_engine rig uses UE4's names
    "makehuman_cmu_mb": _MAKEHUMAN_CMU_MB,
}
#: What ``--retarget`` accepts: a preset, "auto" (detect, else match names) or "names".
CHOICES = ("auto", "names", *PRESETS)


class RetargetMapError(ValueError):
    """The rig cannot be mapped (message is one plain sentence)."""


def resolve_preset(preset: str, bones) -> dict[str, str]:
    """{SMPL joint: bone} of ``preset`` for a rig with these bone names (missing ones left out)."""
    if preset not in PRESETS:
        raise RetargetMapError(f"Unknown retarget preset {preset!r}; choose one of "
                               f"{', '.join(CHOICES)}.")
    have = set(bones)
    out = {}
    for joint, names in PRESETS[preset].items():
        for n in names:
            if n in have:
                out[joint] = n
                break
    return out


def detect_preset(bones) -> str | None:
    """The preset whose bones this rig has all required ones of, with most bones resolved;
    ties go to the preset listed first (None if no preset fits)."""
    best, best_score = None, -1
    for name in PRESETS:
        found = resolve_preset(name, bones)
        if not all(j in found for j in REQUIRED):
            continue
        score = len(found)
        if score > best_score:
            best, best_score = name, score
    return best


# ---------------------------------------------------------------------------------------------
# name matching

_PREFIXES = re.compile(r"^(def|org|mch|cc_base|bip0*1|b|bn|jnt|j|bone|sk|rig|armature|char|"
                       r"character)[\s_\-.]+", re.IGNORECASE)
#: core word (lower case, no separators or digits) -> role (SMPL joint without its side)
_SYNONYMS = {
    "hips": "pelvis", "hip": "hip", "pelvis": "pelvis", "root": "pelvis", "cog": "pelvis",
    "spine": "spine", "chest": "spine", "upperchest": "spine", "torso": "spine",
    "abdomen": "spine", "back": "spine", "lowerback": "spine", "upperback": "spine",
    "waist": "spine", "stomach": "spine", "belly": "spine",
    "neck": "neck", "head": "head",
    "thigh": "hip", "upleg": "hip", "upperleg": "hip", "femur": "hip", "legupper": "hip",
    "shin": "knee", "calf": "knee", "leg": "knee", "lowerleg": "knee", "knee": "knee",
    "crus": "knee", "leglower": "knee", "tibia": "knee",
    "foot": "ankle", "ankle": "ankle",
    "toe": "foot", "toes": "foot", "toebase": "foot", "ball": "foot",
    "clavicle": "collar", "collar": "collar", "collarbone": "collar", "shoulder": "collar",
    "upperarm": "shoulder", "arm": "shoulder", "humerus": "shoulder", "armupper": "shoulder",
    "forearm": "elbow", "lowerarm": "elbow", "elbow": "elbow", "armlower": "elbow",
    "ulna": "elbow", "radius": "elbow",
    "hand": "wrist", "wrist": "wrist",
}
_SKIP_WORDS = ("twist", "roll", "ik", "pole", "target", "ctrl", "control", "helper", "socket",
               "end", "tip", "nub", "weapon", "prop", "jiggle", "breast", "finger", "thumb",
               "index", "middle", "ring", "pinky", "eye", "jaw", "tongue", "hair", "tail")


#: Side markers, tried in turn: (regex whose group 1 is the side word, flags).
_SIDE_PATTERNS = (
    (r"^(Left|Right)", 0),                          # LeftUpLeg
    (r"^(left|right)[_\-.\s]", re.IGNORECASE),       # left_thigh
    (r"[_\-.\s](l|r|left|right)$", re.IGNORECASE),   # thigh.L, thigh_l, upperarm_left
    (r"^(l|r)[_\-.\s]", re.IGNORECASE),              # L_Thigh, Bip01 L Thigh
    (r"^(L|R)(?=[A-Z])", 0),                        # LThigh, RHipJoint
    (r"[_\-.\s](l|r|left|right)[_\-.\s]", re.IGNORECASE),  # Thigh_L_01
    (r"(?<=[a-z])(Left|Right)$", 0),                     # ThighLeft
)


def normalize(name: str) -> tuple[str | None, str]:
    """Bone name -> (side "left"/"right"/None, core word: lower case, no separators/digits).

    >>> normalize("mixamorig:LeftUpLeg")
    ('left', 'upleg')
    >>> normalize("DEF-thigh.L")
    ('left', 'thigh')
    >>> normalize("Bip01 R Forearm")
    ('right', 'forearm')
    """
    n = re.split(r"[:|]", name)[-1]
    for _ in range(3):
        n2 = _PREFIXES.sub("", n)
        if n2 == n:
            break
        n = n2
    side = None
    for pattern, flags in _SIDE_PATTERNS:
        m = re.search(pattern, n, flags)
        if m:
            side = "left" if m.group(1).lower().startswith("l") else "right"
            n = n[:m.start()] + " " + n[m.end():]
            break
    core = re.sub(r"[^a-z]", "", n.lower())
    return side, core


def _children(parents: dict[str, str | None]) -> dict[str, list[str]]:
    kids: dict[str, list[str]] = {b: [] for b in parents}
    for b, p in parents.items():
        if p is not None and p in kids:
            kids[p].append(b)
    return kids


def _depth(bone: str, parents: dict[str, str | None]) -> int:
    d = 0
    while parents.get(bone) is not None:
        bone = parents[bone]
        d += 1
    return d


def _is_ancestor(a: str, b: str, parents: dict[str, str | None]) -> bool:
    """True if ``a`` is a proper ancestor of ``b``."""
    p = parents.get(b)
    while p is not None:
        if p == a:
            return True
        p = parents.get(p)
    return False


def match_by_names(parents: dict[str, str | None]) -> dict[str, str]:
    """{SMPL joint: bone} for a rig given as {bone: parent or None}, by name and hierarchy."""
    roles: dict[tuple[str | None, str], list[str]] = {}
    for bone in parents:
        side, core = normalize(bone)
        if any(w in core for w in _SKIP_WORDS):
            continue
        role = _SYNONYMS.get(core)
        if role == "hip" and side is None:
            role = "pelvis"
        if role is None:
            continue
        if (role in ("pelvis", "spine", "neck", "head")) != (side is None):
            continue  # sided pelvis halves ("pelvis.L"), or a limb bone without a side
        roles.setdefault((side, role), []).append(bone)

    out: dict[str, str] = {}

    def top(cands: list[str]) -> str:  # the candidate nearest the root (segments: the first)
        return min(cands, key=lambda b: (_depth(b, parents), b))

    for side in ("left", "right"):
        for role in ("hip", "knee", "ankle", "foot", "shoulder", "elbow", "wrist", "collar"):
            cands = roles.get((side, role), [])
            if cands:
                out[f"{side}_{role}"] = top(cands)
        # "shoulder" names the clavicle (Mixamo, Rigify) unless the rig also has a clavicle,
        # in which case it is an upper-arm segment (MakeHuman): then the arm starts below it.
        if f"{side}_collar" in out and f"{side}_shoulder" in out:
            col, arm = out[f"{side}_collar"], out[f"{side}_shoulder"]
            if not _is_ancestor(col, arm, parents):
                cols = [c for c in roles.get((side, "collar"), []) if _is_ancestor(c, arm, parents)]
                if cols:
                    out[f"{side}_collar"] = top(cols)
                else:
                    del out[f"{side}_collar"]
    # the pelvis: a bone named so, else the nearest common ancestor of the thighs
    pelvis = [b for b in roles.get((None, "pelvis"), [])
              if all(_is_ancestor(b, out[j], parents) for j in ("left_hip", "right_hip")
                     if j in out)]
    # prefer "hips"/"pelvis" over "root" when both qualify: the deepest of them
    if pelvis:
        out["pelvis"] = max(pelvis, key=lambda b: (_depth(b, parents), b))
    elif "left_hip" in out and "right_hip" in out:
        a = parents.get(out["left_hip"])
        while a is not None and not _is_ancestor(a, out["right_hip"], parents):
            a = parents.get(a)
        if a is not None:
            out["pelvis"] = a
    heads = [b for b in roles.get((None, "head"), [])
             if "pelvis" not in out or _is_ancestor(out["pelvis"], b, parents)]
    if heads:
        out["head"] = top(heads)
    # the spine: the chain from the pelvis to the head, split by where the arms branch off
    if "pelvis" in out and "head" in out:
        chain = []
        b = parents.get(out["head"])
        while b is not None and b != out["pelvis"]:
            chain.append(b)
            b = parents.get(b)
        chain.reverse()  # pelvis side first, excluding pelvis and head
        if b == out["pelvis"] and chain:
            arm_roots = [out.get(f"{s}_collar") or out.get(f"{s}_shoulder") for s in
                         ("left", "right")]
            branch = None
            for i, c in enumerate(chain):
                if any(a is not None and _is_ancestor(c, a, parents) for a in arm_roots):
                    branch = i
            necks = [i for i, c in enumerate(chain) if normalize(c)[1] == "neck"
                     or _SYNONYMS.get(normalize(c)[1]) == "neck"]
            if necks:
                out["neck"] = chain[necks[0]]
                spine = chain[:necks[0]]
            elif branch is not None and branch + 1 < len(chain):
                out["neck"] = chain[branch + 1]
                spine = chain[:branch + 1]
            else:
                spine = chain
            if branch is not None and branch < len(spine):
                top_spine = branch
            else:
                top_spine = len(spine) - 1
            if top_spine >= 0:
                out["spine3"] = spine[top_spine]
                if top_spine >= 1:
                    out["spine1"] = spine[0]
                if top_spine >= 2:
                    out["spine2"] = spine[top_spine // 2 if top_spine > 2 else 1]
    return out


_SKIPPABLE = ("spine1", "spine2", "spine3", "neck", "left_collar", "right_collar")


def check_map(mapping: dict[str, str], parents: dict[str, str | None]) -> dict[str, str]:
    """Keep only entries consistent with the hierarchy (a joint's bone below its SMPL parent's
    bone); raise :class:`RetargetMapError` when the required joints are not all there."""
    bones = set(parents)
    out = {j: b for j, b in mapping.items() if b in bones and j in MAPPABLE}
    # one bone plays one joint
    seen: dict[str, str] = {}
    for j in MAPPABLE:
        if j in out:
            if out[j] in seen:
                del out[j]
            else:
                seen[out[j]] = j
    for j in MAPPABLE:
        if j not in out:
            continue
        # below the bone of the nearest mapped SMPL ancestor, or, where that is a spine or
        # collar joint, of one further up (a generated Rigify rig hangs its chest controls from
        # the torso, not from the lower-spine control, and its upper arms from a mechanism bone
        # that follows the shoulder control); limb joints must hang below their limb
        p = skeleton.PARENTS[skeleton.JOINT_INDEX[j]]
        ancestors = []
        while p >= 0:
            name = skeleton.JOINT_NAMES[p]
            if name in out:
                ancestors.append(out[name])
                if name not in _SKIPPABLE:
                    break
            p = skeleton.PARENTS[p]
        if ancestors and not any(_is_ancestor(a, out[j], parents) for a in ancestors):
            del out[j]
    missing = [j for j in REQUIRED if j not in out]
    if missing:
        raise RetargetMapError(
            f"Only {len(out)} of the character's bones could be matched to the capture "
            f"skeleton (missing: {', '.join(missing)}); pick a --retarget preset that fits "
            f"the rig.")
    return out


def build_map(preset: str, parents: dict[str, str | None]) -> tuple[str, dict[str, str]]:
    """(preset actually used, checked map) for ``--retarget preset`` on a rig {bone: parent}.

    ``"auto"`` detects a preset from the bone names and falls back to name matching;
    ``"names"`` always matches by names.
    """
    if preset == "auto":
        found = detect_preset(parents)
        preset = found or "names"
    if preset == "names":
        return preset, check_map(match_by_names(parents), parents)
    return preset, check_map(resolve_preset(preset, parents), parents)
