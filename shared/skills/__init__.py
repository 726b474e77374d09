"""The skills taxonomy: skill ids, bilingual names, implications, and skills found in free text.

    from shared.skills import load_taxonomy

    skills = load_taxonomy()             # read once per process, on first call
    skills.lookup("ReactJS").id          # "react"
    skills.extract("熟悉Java和Go")        # mentions with exact offsets
    skills.normalise({"name": "k8s"})    # SkillRef("kubernetes", "Kubernetes", known=True)

Built from ESCO, O*NET and THUOCL plus a curated bilingual layer; see docs/skills.md.
"""

from shared.skills.skill import KINDS, Role, Skill, SkillMention, SkillRef, UnknownSkillId
from shared.skills.taxonomy import SkillTaxonomy, load_taxonomy

__all__ = [
    "KINDS",
    "Role",
    "Skill",
    "SkillMention",
    "SkillRef",
    "SkillTaxonomy",
    "UnknownSkillId",
    "load_taxonomy",
]
