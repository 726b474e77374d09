"""Evidence spans in a resume's plain text: who, where, for whom, with what, and since when.

    from ai_services.resume_service.entities import extract_entities

    extract_entities("高勇，男，中国国籍，本科学历，现任北京华为技术有限公司高级工程师。")
    # [Entity("NAME", "高勇", 0, 2), Entity("CONT", "中国国籍", 5, 9), Entity("EDU", "本科学历", 10, 14),
    #  Entity("ORG", "北京华为技术有限公司", 17, 27), Entity("TITLE", "高级工程师", 27, 32)]

Each entity is one mention: `text[start:end] == entity.text`, sorted by start, never
overlapping. The labels are in LABELS. Chinese text is tagged by a CRF trained on ResumeNER,
English text by one trained on the dotin Indeed resumes, both loaded from resume_service/models/
on first use; contacts, dates and years of experience come from patterns. See
docs/resume-entities.md.
"""

from ai_services.resume_service.entities.extraction import LANGUAGES, detect_language, extract_entities
from ai_services.resume_service.entities.spans import LABELS, Entity

__all__ = ["LABELS", "LANGUAGES", "Entity", "detect_language", "extract_entities"]
