#!/usr/bin/env python3
"""Checks an exported run (`repro export`) without repro: the zip opens, its
ro-crate-metadata.json loads with the `rocrate` library, and every File entity exists in the
zip with the SHA-256 and size the metadata records. Extracts it to DIR.

Usage: check_crate.py EXPORT.zip DIR
"""
import hashlib
import json
import sys
import zipfile

from rocrate.rocrate import ROCrate

archive, into = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    bad = z.testzip()
    if bad:
        sys.exit(f"{archive}: {bad} is corrupt")
    names = set(z.namelist())
    z.extractall(into)
crate = ROCrate(into)
meta = json.load(open(f"{into}/ro-crate-metadata.json"))
files = [e for e in meta["@graph"] if "File" in (e["@type"] if isinstance(e["@type"], list) else [e["@type"]])]
problems = []
for f in files:
    path = f["@id"]
    if path not in names:
        problems.append(f"{path}: listed but not in the zip")
        continue
    data = open(f"{into}/{path}", "rb").read()
    if hashlib.sha256(data).hexdigest() != f["sha256"]:
        problems.append(f"{path}: SHA-256 differs from the metadata")
    if str(len(data)) != f["contentSize"]:
        problems.append(f"{path}: size differs from the metadata")
    if crate.get(path) is None:
        problems.append(f"{path}: rocrate does not see it")
actions = [e for e in meta["@graph"] if e["@type"] == "CreateAction"]
if crate.mainEntity is None or crate.mainEntity.id != "pipeline.toml":
    problems.append("the main entity is not pipeline.toml")
for p in problems:
    print(p)
print(f"{len(files)} files, {len(actions)} actions, {len(problems)} problems")
sys.exit(1 if problems else 0)
