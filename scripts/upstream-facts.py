#!/usr/bin/env python3
"""Record the facts of upstream clearml-server's compose files, one entry per tagged release.

Usage:
    python3 scripts/upstream-facts.py MIRROR [OUTPUT]

MIRROR is a git clone (a bare mirror without a work tree is enough) of
https://github.com/clearml/clearml-server, e.g. /work/.mirror/clearml+clearml-server/repo.
OUTPUT defaults to playbooks/clearml/upstream-compose.json next to this script's
repository. Nothing is copied from upstream but the facts below, each entry naming its source
(tag, commit, path). The test crates/clearml-sim/tests/upstream.rs checks the simulator against that file.

Dependencies: python3 (3.7+) standard library, git on PATH, and PyYAML (`import yaml`; Debian
package python3-yaml, installed at /usr/lib/python3/dist-packages). Scalars are read with
PyYAML's BaseLoader, i.e. as the text upstream writes (no YAML 1.1 typing: `9200` stays "9200",
`"true"` stays "true").

What is recorded, per release (in version order):
  {"release", "tag", "commit" (40 hex), "path",
   "services": {NAME: {"container_name", "image", "environment", "volumes", "ports",
                       "network_mode", "command", "entrypoint", "privileged", "restart"}}}
Normalisation (crates/clearml-sim/tests/upstream.rs does the same to the simulator's file):
  - a key absent from a service is null;
  - environment: a map {NAME: value}; value is the literal text (string), `${...}` kept as
    written; a list ("K=V" / "K") becomes the same map, null where no value is given (an
    empty plain value `K:` is null too);
  - volumes: strings "host:container[:mode]"; long syntax (type/source/target/read_only)
    becomes the same form; a volume without a source is its container path alone;
  - ports: strings; long syntax becomes "published:target[/protocol]";
  - command / entrypoint: a string or a list of strings, as upstream writes it;
  - privileged: a boolean.
Releases: every tag but 0.9.0 (which has no compose file); the release name is the tag without
its leading "v", padded to X.Y.Z ("v1.10" -> "1.10.0"). The compose file is
docker-compose.yml up to 0.16.1 and docker/docker-compose.yml from 0.17.0; should a tag hold
both, docker/docker-compose.yml is used (the file upstream's install docs point at from 0.17.0)
and a warning is printed. One release was never tagged: "1.17.1", the 1.17 -> 2.0 upgrade
compose file upgrade/1_17_to_2_0/docker-compose.yml added by commit 2976ce69 (it pins
allegroai/clearml:1.17.1-554).
"""

import json
import os
import re
import subprocess
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("upstream-facts.py: needs PyYAML (apt-get install python3-yaml)")

IGNORED_TAGS = {"0.9.0"}
PATHS = ("docker/docker-compose.yml", "docker-compose.yml")
EXTRA = [
    # (release, commit-ish, path): upstream releases that have no tag of their own.
    ("1.17.1", "2976ce69", "upgrade/1_17_to_2_0/docker-compose.yml"),
]
FIELDS = (
    "container_name",
    "image",
    "environment",
    "volumes",
    "ports",
    "network_mode",
    "command",
    "entrypoint",
    "privileged",
    "restart",
)


class Loader(yaml.BaseLoader):
    """BaseLoader (every scalar a string) where an empty or null plain scalar is None."""


def _scalar(loader, node):
    value = loader.construct_scalar(node)
    if node.style is None and value in ("", "~", "null", "Null", "NULL"):
        return None
    return value


Loader.add_constructor("tag:yaml.org,2002:str", _scalar)
Loader.add_constructor("tag:yaml.org,2002:null", _scalar)


def git(mirror, *args):
    return subprocess.run(
        ["git", "-C", mirror, *args], check=True, capture_output=True, text=True
    ).stdout


def exists(mirror, rev, path):
    r = subprocess.run(
        ["git", "-C", mirror, "cat-file", "-e", f"{rev}:{path}"], capture_output=True
    )
    return r.returncode == 0


def release_of(tag):
    parts = tag.lstrip("v").split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts)


def vkey(release):
    return tuple(int(p) for p in re.findall(r"\d+", release))


def normalise_env(env):
    if env is None:
        return None
    out = {}
    if isinstance(env, dict):
        for k, v in env.items():
            out[str(k)] = None if v is None else str(v)
    elif isinstance(env, list):
        for item in env:
            if "=" in item:
                k, v = item.split("=", 1)
                out[k] = v
            else:
                out[item] = None
    else:
        raise ValueError(f"environment of unexpected type: {env!r}")
    return out


def normalise_volume(vol):
    if isinstance(vol, str):
        return vol
    src, target = vol.get("source"), vol.get("target")
    if not src:
        return target
    s = f"{src}:{target}"
    if vol.get("read_only") == "true":
        s += ":ro"
    return s


def normalise_port(port):
    if isinstance(port, str):
        return port
    s = f"{port.get('published')}:{port.get('target')}"
    if port.get("protocol"):
        s += f"/{port['protocol']}"
    return s


def normalise_service(svc):
    out = {}
    for f in FIELDS:
        v = svc.get(f)
        if f == "environment":
            v = normalise_env(v)
        elif f == "volumes" and v is not None:
            v = [normalise_volume(x) for x in v]
        elif f == "ports" and v is not None:
            v = [normalise_port(x) for x in v]
        elif f == "privileged" and v is not None:
            v = {"true": True, "false": False}.get(v.lower(), v)
        out[f] = v
    return out


def entry(mirror, release, tag, rev, path):
    commit = git(mirror, "rev-parse", f"{rev}^{{commit}}").strip()
    doc = yaml.load(git(mirror, "show", f"{commit}:{path}"), Loader=Loader)
    services = {
        name: normalise_service(svc or {}) for name, svc in (doc.get("services") or {}).items()
    }
    return {
        "release": release,
        "tag": tag,
        "commit": commit,
        "path": path,
        "services": services,
    }


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1])
    mirror = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = (
        sys.argv[2]
        if len(sys.argv) == 3
        else os.path.join(here, "..", "playbooks", "clearml", "upstream-compose.json")
    )
    entries = []
    for tag in git(mirror, "tag", "--list").split():
        if tag in IGNORED_TAGS:
            continue
        found = [p for p in PATHS if exists(mirror, tag, p)]
        if not found:
            print(f"upstream-facts.py: tag {tag} has no compose file, skipped", file=sys.stderr)
            continue
        if len(found) > 1:
            print(
                f"upstream-facts.py: tag {tag} has {' and '.join(found)}; using {found[0]}",
                file=sys.stderr,
            )
        entries.append(entry(mirror, release_of(tag), tag, tag, found[0]))
    for release, rev, path in EXTRA:
        entries.append(entry(mirror, release, None, rev, path))
    entries.sort(key=lambda e: vkey(e["release"]))
    releases = [e["release"] for e in entries]
    dup = {r for r in releases if releases.count(r) > 1}
    if dup:
        sys.exit(f"upstream-facts.py: releases recorded twice: {sorted(dup)}")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"upstream-facts.py: {len(entries)} releases written to {os.path.normpath(out_path)}")


if __name__ == "__main__":
    main()
