"""Helpers of the GitLab internal API tests: entities set up through python-gitlab (REST v4, admin)."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

ZERO = "0" * 40
SHA_A = "a" * 40
SHA_B = "b" * 40


def ssh_key() -> tuple[str, str, str]:
    """A fresh ed25519 public key line, its Base64 blob and its MD5 fingerprint."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + os.urandom(32)
    encoded = base64.b64encode(blob).decode()
    digest = hashlib.md5(blob).hexdigest()
    return f"ssh-ed25519 {encoded} someone@example.com", encoded, ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def user(gl, username: str, **extra):
    return gl.users.create({"username": username, "name": username.title(), "email": f"{username}@example.com", **extra})


def user_with_key(gl, username: str, **extra):
    created = user(gl, username, **extra)
    line, _, _ = ssh_key()
    key = created.keys.create({"title": f"{username} key", "key": line})
    return created, key


def group(gl, path: str):
    return gl.groups.create({"name": path.title(), "path": path})


def project(gl, group_, path: str, visibility: str = "private", default_branch: str = "main"):
    return gl.projects.create({"name": path, "path": path, "namespace_id": group_.id, "visibility": visibility,
                               "default_branch": default_branch})  # fmt: skip
