"""The AWS functions' deployment package, zipped, per function, against the whole-repository package.

    python benchmarks/lambda_package.py [--sam-venv .sam-venv] [--python python3.12] [--no-baseline]

It runs the real `sam build` (the AWS SAM CLI, installed with pip into a venv of its own if it is not there
yet; the functions' runtime, Python 3.12, must be on the machine) in `spaceinvaders_backend/aws`, into a
temporary build folder, and zips each built function and the dependency layer as `sam package` does
(deflate). A function's package is its code plus the layer: what Lambda unpacks for it, against the
50 MB zipped / 250 MB unzipped quotas, and what the target of issue 15 (under 5 MB zipped) counts.

The baseline, measured in the same run: the package main's template built before issue 15 (the whole
repository as each function's code, `CodeUri: ../../`, with its requirements, PyJWT with `cryptography`
and `requests` among them), built with the same `sam build` from a clean export of the commit given by
`--baseline-commit` (default 83b10e2, the review's). It needs git and network access to PyPI, as
`sam build` does.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AWS = ROOT / "spaceinvaders_backend" / "aws"
BASELINE_COMMIT = "83b10e2"
TARGET_BYTES = 5 * 1024 * 1024


def sam_cli(venv: Path, python: str) -> Path:
    """The `sam` executable of `venv`, installing the SAM CLI there first when it is absent."""
    sam = venv / "bin" / "sam"
    if not sam.exists():
        print(f"installing the AWS SAM CLI into {venv} ...", flush=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "aws-sam-cli"], check=True)
    return sam


def zipped_size(folder: Path) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of a folder, zipped the way `sam package` zips it."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
                unzipped += path.stat().st_size
    return len(buffer.getvalue()), unzipped


def build(sam: Path, python: str, source: Path, build_dir: Path, *extra: str) -> None:
    env = {**os.environ, "PATH": f"{Path(python).parent}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0",
           "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    done = subprocess.run([str(sam), "build", "--build-dir", str(build_dir), *extra], cwd=source, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"sam build failed in {source}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def baseline(sam: Path, python: str, commit: str, scratch: Path) -> tuple[int, int]:
    """The package of one function (SeatsFunction) as main's template built it at `commit`."""
    export = scratch / "baseline-source"
    export.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(export)], input=archive, check=True)
    source = export / "spaceinvaders_backend" / "aws"
    build(sam, python, source, scratch / "baseline-build", "SeatsFunction")
    return zipped_size(scratch / "baseline-build" / "SeatsFunction")


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:6.2f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sam-venv", type=Path, default=ROOT / ".sam-venv")
    parser.add_argument("--python", default=shutil.which("python3.12") or "python3.12",
                        help="a Python 3.12 (the functions' runtime) for the SAM CLI and its builds")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    if not Path(args.python).exists() and shutil.which(args.python) is None:
        sys.exit(f"no Python 3.12 at {args.python!r}: pass --python /path/to/python3.12")
    python = shutil.which(args.python) or args.python
    sam = sam_cli(args.sam_venv.resolve(), python)

    with tempfile.TemporaryDirectory(prefix="lambda-package-") as tmp:
        scratch = Path(tmp)
        build(sam, python, AWS, scratch / "build")
        built = scratch / "build"
        layer_zip, layer_raw = zipped_size(built / "LambdaDependencies")
        print(f"layer LambdaDependencies: {mb(layer_zip)} zipped, {mb(layer_raw)} unzipped")
        rows = []
        for folder in sorted(p for p in built.iterdir() if p.is_dir() and p.name != "LambdaDependencies"):
            code_zip, code_raw = zipped_size(folder)
            rows.append((folder.name, code_zip, code_raw, code_zip + layer_zip, code_raw + layer_raw))
        base = None if args.no_baseline else baseline(sam, python, args.baseline_commit, scratch)

    print(f"\n{'function':32} {'code zip':>10} {'+ layer zip':>12} {'unzipped':>10}  {'vs baseline':>11}")
    for name, code_zip, _code_raw, total_zip, total_raw in rows:
        ratio = f"{total_zip / base[0]:10.1%}" if base else "-"
        flag = "" if total_zip < TARGET_BYTES else "  over the 5 MB target"
        print(f"{name:32} {mb(code_zip)} {mb(total_zip):>12} {mb(total_raw)}  {ratio:>11}{flag}")
    if base:
        print(f"\nbaseline ({args.baseline_commit}, the whole repository as each function's code): "
              f"{mb(base[0])} zipped, {mb(base[1])} unzipped, per function")
    worst = max(row[3] for row in rows)
    print(f"largest function package: {mb(worst)} zipped (target: under {mb(TARGET_BYTES)})")
    if worst >= TARGET_BYTES:
        sys.exit(1)


if __name__ == "__main__":
    main()
