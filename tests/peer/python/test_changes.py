"""changes.getStartPageToken + changes.list paging through the python client."""

import io

from googleapiclient.http import MediaIoBaseUpload


def test_changes_feed(drive):
    def mk(name, data=b"content"):
        return drive.files().create(
            body={"name": name},
            media_body=MediaIoBaseUpload(io.BytesIO(data), mimetype="text/plain", resumable=False),
            fields="id",
        ).execute()["id"]

    renamed = mk("before-rename.txt")
    trashed = mk("to-trash.txt")
    deleted = mk("to-delete.txt")
    untouched = mk("untouched.txt")

    start = drive.changes().getStartPageToken().execute()
    assert set(start) <= {"kind", "startPageToken"}
    assert start.get("kind", "drive#startPageToken") == "drive#startPageToken"
    token = start["startPageToken"]
    assert isinstance(token, str) and token

    created = mk("created.txt")
    drive.files().update(fileId=renamed, body={"name": "after-rename.txt"}).execute()
    drive.files().update(fileId=trashed, body={"trashed": True}).execute()
    drive.files().delete(fileId=deleted).execute()

    fields = "nextPageToken,newStartPageToken,changes(fileId,removed,file(name,trashed))"
    seen, pages, page_token, new_start = {}, 0, token, None
    while True:
        resp = drive.changes().list(
            pageToken=page_token, pageSize=2, includeRemoved=True, spaces="drive", fields=fields
        ).execute()
        pages += 1
        assert pages <= 20, "changes paging does not terminate"
        assert set(resp) <= {"nextPageToken", "newStartPageToken", "changes"}, sorted(resp)
        assert len(resp.get("changes", [])) <= 2
        for ch in resp.get("changes", []):
            assert set(ch) <= {"fileId", "removed", "file"}, f"fields not applied: {ch}"
            if "file" in ch:
                assert set(ch["file"]) <= {"name", "trashed"}, f"fields not applied: {ch}"
            seen[ch["fileId"]] = ch  # the latest change of a file wins
        if "newStartPageToken" in resp:
            assert "nextPageToken" not in resp, "last page carries newStartPageToken instead of nextPageToken"
            new_start = resp["newStartPageToken"]
            break
        page_token = resp["nextPageToken"]

    assert pages >= 2, "4 changes with pageSize=2 need at least 2 pages"
    assert untouched not in seen, "a file changed before the start token must not appear"
    assert seen[created]["removed"] is False and seen[created]["file"]["name"] == "created.txt"
    assert seen[renamed]["removed"] is False and seen[renamed]["file"]["name"] == "after-rename.txt"
    assert seen[trashed]["removed"] is False and seen[trashed]["file"]["trashed"] is True
    assert seen[deleted]["removed"] is True
    assert "file" not in seen[deleted], f"a removed change carries no file: {seen[deleted]}"

    # Nothing happened since: the new start token yields no changes.
    resp = drive.changes().list(pageToken=new_start, includeRemoved=True, spaces="drive",
                                fields="nextPageToken,newStartPageToken,changes(fileId)").execute()
    assert resp.get("changes", []) == []
    assert "newStartPageToken" in resp
