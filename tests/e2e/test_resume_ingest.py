"""Resumes through the real fleet: ingest makes a CRM talent, a second resume of the same person
updates it, the text is embedded as chunks by the projector, and `looma ingest` does the same for
a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.fleet import ADMIN_EMAIL, ADMIN_PASSWORD, Fleet
from tests.unit.test_resume_service import CHINESE

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SECOND = CHINESE.replace("高级后端工程师", "技术经理").replace("13800138000", "13900139000")


def headers(fleet: Fleet) -> dict[str, str]:
    return {"Authorization": f"Bearer {fleet.login()['access_token']}"}


def upload(fleet: Fleet, name: str, data: bytes, auth: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{fleet.gateway}/api/v1/resumes", files={"file": (name, data)}, headers=auth, timeout=60)


def test_a_resume_becomes_a_talent_and_its_chunks_are_searchable(fleet: Fleet) -> None:
    auth = headers(fleet)
    first = upload(fleet, "张伟.txt", CHINESE.encode(), auth)
    assert first.status_code == 201, first.text
    talent_id, resume_id = first.json()["talent_id"], first.json()["resume_id"]
    talent = httpx.get(f"{fleet.gateway}/api/v1/talents/{talent_id}", headers=auth, timeout=10).json()
    assert talent["name"] == "张伟" and talent["phones"] == ["+8613800138000"] and talent["source"] == "resume"

    second = upload(fleet, "张伟-2.txt", SECOND.encode(), auth)
    assert second.status_code == 201, second.text
    assert second.json()["talent_id"] == talent_id and second.json()["matched_by"] == "email"
    updated = httpx.get(f"{fleet.gateway}/api/v1/talents/{talent_id}", headers=auth, timeout=10).json()
    assert updated["current_title"] == "技术经理" and set(updated["phones"]) == {"+8613800138000", "+8613900139000"}
    history = httpx.get(f"{fleet.gateway}/api/v1/resumes", params={"talent_id": talent_id}, headers=auth,
                        timeout=10).json()
    assert len(history["items"]) == 2

    def chunks() -> list[dict[str, Any]]:
        response = httpx.post(f"{fleet.gateway}/api/v1/vectors/search", headers=auth, timeout=10, json={
            "collection": "resume_chunks", "text": "推荐系统后端 Go", "top_k": 5, "filters": {"resume_id": resume_id}})
        return list(response.json()["items"]) if response.status_code == 200 else []

    fleet.wait_until(lambda: bool(chunks()), 120, "the resume's chunks to be embedded")
    hit = chunks()[0]["metadata"]
    text = first.json()["parsed"]["text"]
    assert hit["talent_id"] == talent_id and 0 <= hit["start"] < hit["end"] <= len(text)


def test_looma_ingest_posts_a_folder_once(fleet: Fleet, tmp_path: Path) -> None:
    folder = tmp_path / "resumes"
    folder.mkdir()
    # Other people: their own name, email and phone (a shared phone would make them the same person).
    (folder / "wang.txt").write_text(CHINESE.replace("张伟", "王芳").replace("zhang.wei", "wang.fang")
                                     .replace("13800138000", "13700137001"))
    (folder / "li.txt").write_text(CHINESE.replace("张伟", "李娜").replace("zhang.wei", "li.na")
                                   .replace("13800138000", "13600136002"))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "notes.xlsx").write_bytes(b"not a resume")  # not a resume type: left alone
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOMA_")}
    env["LOOMA_PASSWORD"] = ADMIN_PASSWORD
    command = [sys.executable, "-m", "shared.cli.main", "ingest", str(folder), "--email", ADMIN_EMAIL,
               "--gateway", fleet.gateway]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "created 2, updated 0, unchanged 0, failed 1" in first.stdout
    assert "empty.pdf" in first.stderr

    (folder / "empty.pdf").unlink()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and "created 0, updated 0, unchanged 2, failed 0" in again.stdout
