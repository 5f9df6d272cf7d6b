"""Differential oracle: evaluate clearfleet template cases with real ansible-core.

Reads a JSON list of cases from stdin, each {"kind": "template"|"expr"|"cond", "src": str,
"vars": {...}}, and writes a JSON list of {"ok": value} or {"err": message} to stdout.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template


def plain(v):
    """Convert tagged/native Ansible values into plain JSON values."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return {"__repr__": repr(v), "__type__": type(v).__name__}


def main():
    cases = json.load(sys.stdin)
    loader = DataLoader()
    out = []
    for case in cases:
        try:
            templar = Templar(loader=loader, variables=case.get("vars", {}))
            src = trust_as_template(case["src"])
            kind = case.get("kind", "template")
            if kind == "template":
                res = templar.template(src)
            elif kind == "expr":
                res = templar.evaluate_expression(src)
            else:
                res = templar.evaluate_conditional(src)
            out.append({"ok": plain(res)})
        except Exception as e:  # noqa: BLE001 - every failure is a result here
            out.append({"err": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout)


main()
