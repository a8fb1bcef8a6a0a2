"""Everything one capture becomes in Blender, as the button and ``videomocap blend`` both build it:
the collection with the video camera and one armature per person (``scene.build_capture``), the
contact-driven foot lock on each armature, and a skinned body per person that hides when they do.

Bodies (``body``):

- ``"makehuman"``: the free MakeHuman body shipped with the add-on, fitted to each person's
  skeleton (``core.body_mesh``);
- ``"smpl"``: the user's SMPL-family model file (``smpl_model``), shaped by each person's betas
  (fitted to their bone lengths when the motion file has none);
- ``"proxy"``: one tapered prism per bone (``body_proxy``), the fallback;
- ``"auto"`` (default): SMPL when a model path is given, else MakeHuman, else (template missing
  or unreadable: logged as a warning) the proxy.

A model file that cannot be used raises ``BodyMeshError`` (a ValueError) before anything is built.

Each person's motion is one Action named ``"<capture> person <id>"`` with a fake user (it survives
when unassigned and can be pushed onto NLA tracks). Its contact phases are keyed on the armature
as 0/1 custom-property curves (``contact_left_heel`` ... see
:data:`..core.export_presets.CONTACT_PROPERTIES`, CONSTANT interpolation, in the same Action) and
summarised as JSON in the ``videomocap_contact_phases`` property, which FBX user properties and
glTF extras carry to engines.
"""

from __future__ import annotations

import json
import logging

import numpy as np

from ..core import body_mesh as core_body
from ..core import contact_phases as cp
from ..core import export_presets
from ..core.shared import skeleton
from .armature import FRAME_OFFSET, key_visibility, rest_matrices
from .body_proxy import create_body_proxy
from .scene import build_capture

log = logging.getLogger("videomocap")

#: armature property holding the contact phases as JSON (a list of {side, point, start, end})
PHASES_PROPERTY = "videomocap_contact_phases"

#: Body colours, one per person in turn.
PALETTE = [(0.85, 0.45, 0.15, 1), (0.2, 0.55, 0.85, 1), (0.35, 0.75, 0.3, 1),
           (0.8, 0.3, 0.6, 1), (0.9, 0.8, 0.2, 1), (0.5, 0.4, 0.8, 1)]
BODIES = ("auto", "makehuman", "smpl", "proxy")


def _choose_body(body: str, smpl_model):
    """(kind, loaded SMPL model or None); raises for an unusable model, warns and falls back
    to the proxy when the MakeHuman template cannot be read."""
    if body not in BODIES:
        raise ValueError(f"Unknown body {body!r}: choose one of {', '.join(BODIES)}.")
    if body == "smpl" and not smpl_model:
        raise ValueError("The SMPL body needs an SMPL model file.")
    if body in ("auto", "smpl") and smpl_model:
        from ..core.smpl_model import load_model

        return "smpl", load_model(smpl_model)
    if body in ("auto", "makehuman"):
        try:
            core_body.load_template()
            return "makehuman", None
        except core_body.BodyMeshError as exc:
            log.warning("%s Using the simple body proxy instead.", exc)
    return "proxy", None


def build_full_capture(motion, name: str, scene, foot_lock: bool = True, body: str = "auto",
                       smpl_model=None) -> dict:
    """Build ``motion`` into ``scene``; returns build_capture's dict plus "bodies" (one mesh
    object per person) and "body" (the kind built)."""
    kind, model = _choose_body(body, smpl_model)
    built = build_capture(motion, name, scene)
    fps = float(motion.fps)
    for arm, person in zip(built["armatures"], motion.people):
        action = arm.animation_data.action
        action.name = f"{name} person {int(person.person_id)}"
        action.use_fake_user = True
        if foot_lock:
            from .foot_lock import apply_foot_lock

            phases = apply_foot_lock(arm, person, fps)["phases"]
        else:
            phases = _phases(arm, person, fps)
        key_contacts(arm, person.frame_ids, phases)
    bodies = []
    for i, (arm, person) in enumerate(zip(built["armatures"], motion.people)):
        color = PALETTE[i % len(PALETTE)]
        if kind == "proxy":
            obj = create_body_proxy(arm, built["collection"], color)
            obj["videomocap_body"] = "proxy"
        else:
            from .body_mesh import create_body_mesh

            if kind == "smpl":
                from ..core.smpl_model import smpl_body

                mesh = smpl_body(model, person.bone_lengths, person.betas)
            else:
                mesh = core_body.makehuman_body(person.bone_lengths)
            obj = create_body_mesh(arm, built["collection"], mesh, color)
        key_visibility(obj, person.frame_ids, motion.fps)
        bodies.append(obj)
    built["bodies"] = bodies
    built["body"] = kind
    built["foot_lock"] = bool(foot_lock)
    return built


def _phases(arm, person, fps: float) -> list:
    """Contact phases as the foot lock finds them, without building the lock."""
    _, heads = rest_matrices(arm)
    ground = (float(heads[skeleton.JOINT_INDEX["left_ankle"], 2]),
              float(heads[skeleton.JOINT_INDEX["left_foot"], 2]))
    return cp.contact_phases(person.frame_ids, person.contact, person.joints, fps,
                             ground_heights=ground)


def key_contacts(arm, frame_ids, phases) -> None:
    """Key the contact channels of ``phases`` on ``arm`` as 0/1 custom-property curves in its
    action, and store the phases as JSON (:data:`PHASES_PROPERTY`)."""
    from .foot_lock import _Appender

    writer = _Appender(arm)
    for prop, (frames, values) in export_presets.contact_keys(frame_ids, phases).items():
        arm[prop] = float(values[0]) if len(values) else 0.0
        arm.id_properties_ui(prop).update(min=0.0, max=1.0, soft_min=0.0, soft_max=1.0,
                                          description="1 while this point of the foot is "
                                                      "locked to the ground")
        if len(frames):
            writer.add(f'["{prop}"]', np.asarray(frames) + FRAME_OFFSET, values,
                       group="Contact", interpolation="CONSTANT")
    arm[PHASES_PROPERTY] = json.dumps(export_presets.phases_summary(phases))
