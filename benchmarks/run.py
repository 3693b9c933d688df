"""Benchmark of the ``followup`` command: whole-process wall time and peak memory.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run.py            # full run, writes benchmarks/results.md
    .venv/bin/python benchmarks/run.py --quick    # smoke run: 1 run, small cases only

Every case runs the venv's ``followup`` as a separate process, exactly as a
user would: one warm-up run (discarded; it fills the OS file cache and
Python's bytecode cache), then ``--runs`` timed runs. The table reports the
median wall time (``time.perf_counter`` around the whole process, start-up and
imports included), the fastest and slowest run, and the peak resident set
size of the process (``ru_maxrss`` from ``os.wait4``; on Linux it is the
largest of the process and the children it waited for, e.g. LibreOffice in a
release build, not their sum).

Cases: ``check``; ``diff`` of the sources against themselves (≤ 2× check); ``build`` (PDF and DOCX), PDF only and DOCX only; a
one-ministry ``preview``; ``build --release`` (with the LibreOffice page
pass); ``build`` of synthetic documents 4x and 10x as long as the official
one; the size of the official PDF; and ``serve``: the time from saving an
item file to the event that carries the updated page, as an open page
receives it (a client subscribed to ``/events``; median of 10 saves, the
background PDF/DOCX builds running as they do for a user). Each measurement is shown next to its
target with pass/fail.

Synthetic documents are generated in a temporary directory: the source tree
is copied and, in every policy folder, each item file is repeated k times in
a row (so categories stay contiguous) under new order prefixes, with the
item ``id:``, project ``id:`` and ``reprint:`` values given a suffix ``-x2``,
``-x3``… and project names a marker （写2）… so that the copies are neither
duplicate ids nor the "same project twice" warning. ``followup check`` must
pass on the result before it is timed.

All outputs go to a temporary directory (``--out``), never to ``output/``.
Only the standard library is used; the project is exercised through its CLI.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = ROOT / "sources"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results.md"
DEFAULT_MINISTRY = "経産省"
SCALES = (4, 10)

KIB = 1024
MIB = 1024 * 1024

# Targets (seconds, bytes). The 10x case is judged against the measured 1x build.
TARGET_CHECK_S = 0.3
TARGET_BUILD_S = 1.5
TARGET_PREVIEW_S = 0.8
TARGET_RELEASE_S = 3.5
TARGET_PDF_KIB = 400
TARGET_SERVE_S = 1.0
SERVE_SAVES = 10  # saves timed in the serve case (median of these)


# --- synthetic documents ----------------------------------------------------------

ORDER_RE = re.compile(r"^(\d+(?:\.\d+)?)-(.+)$")
# `id:` (item or project) and `reprint:` on a line of their own, optionally as the first key of a list entry.
ID_LINE_RE = re.compile(
    r"^(?P<lead>[ ]*(?:-[ ]+)?)(?P<key>id|reprint):(?P<sp>[ ]*)(?P<q>[\"']?)(?P<val>[a-z0-9][a-z0-9-]*)(?P=q)"
    r"(?P<tail>[ ]*(?:#.*)?)$",
    re.MULTILINE,
)
PROJECT_LINE_RE = re.compile(
    r"^(?P<lead>[ ]*(?:-[ ]+)?)project:(?P<sp>[ ]*)(?P<q>[\"']?)(?P<val>[^\"'#\n]*?)(?P=q)(?P<tail>[ ]*(?:#.*)?)$",
    re.MULTILINE,
)
SKIPPED_DIRS = {"corrections"}


def _order_key(path: Path) -> tuple[float, str]:
    m = ORDER_RE.match(path.stem)
    return (float(m.group(1)) if m else float("inf"), path.name)


def rewrite_copy(text: str, k: int) -> str:
    """The text of copy ``k`` (k >= 2) of an item file: ids, reprint targets and project names made distinct."""
    suffix = f"-x{k}"

    def ident(m: re.Match) -> str:
        return f"{m['lead']}{m['key']}:{m['sp']}{m['q']}{m['val']}{suffix}{m['q']}{m['tail']}"

    def project(m: re.Match) -> str:
        value = m["val"].rstrip()
        if not value:
            return m.group(0)
        return f"{m['lead']}project:{m['sp']}{m['q']}{value}（写{k}）{m['q']}{m['tail']}"

    return PROJECT_LINE_RE.sub(project, ID_LINE_RE.sub(ident, text))


def make_synthetic(sources: Path, dest: Path, scale: int) -> dict[str, int]:
    """Copy ``sources`` to ``dest`` with every policy's items repeated ``scale`` times. Returns counts."""
    if scale < 1:
        raise ValueError("scale must be >= 1")
    shutil.copytree(sources, dest)
    items = 0
    for pillar in sorted(p for p in dest.iterdir() if p.is_dir() and p.name not in SKIPPED_DIRS
                         and not p.name.startswith(".")):
        for policy in sorted(p for p in pillar.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = sorted((f for f in policy.iterdir() if f.is_file() and f.suffix in (".yaml", ".yml")
                            and f.name != "policy.yaml"), key=_order_key)
            width = max(3, len(str(len(files) * scale)))
            contents = [(f, f.read_text(encoding="utf-8")) for f in files]
            for f, _ in contents:
                f.unlink()
            for i, (f, text) in enumerate(contents):
                m = ORDER_RE.match(f.stem)
                rest = m.group(2) if m else f.stem
                for k in range(1, scale + 1):
                    order = i * scale + k
                    name = f"{order * 10:0{width + 1}d}-{rest}" + (f"-x{k}" if k > 1 else "") + f.suffix
                    (policy / name).write_text(text if k == 1 else rewrite_copy(text, k), encoding="utf-8")
                    items += 1
    return {"items": items}


# --- running one process ----------------------------------------------------------

@dataclass
class Run:
    seconds: float
    maxrss_kib: int
    returncode: int
    stderr: str


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run ``argv`` to completion; wall time around the whole process, peak RSS of it (and waited-for children)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped; keep Popen from waiting again
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    # ru_maxrss is KiB on Linux, bytes on macOS
    maxrss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return Run(seconds, int(maxrss), proc.returncode, text)


@dataclass
class Case:
    key: str
    label: str
    args: list[str]
    tree: str = "official"         # "official" or "x4", "x10"
    out: bool = True               # gets --out <tmp dir>
    target: str = "—"
    quick: bool = True
    runs: list[Run] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    out_dir: Path | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(r.seconds for r in self.runs) if self.runs else None

    @property
    def peak_kib(self) -> int | None:
        return max(r.maxrss_kib for r in self.runs) if self.runs else None


def measure(case: Case, followup: str, sources: Path, work: Path, env: dict[str, str], runs: int,
            warmup: bool, log) -> None:
    argv = [followup, *(str(sources) if a == "{sources}" else a for a in case.args), "--sources", str(sources)]
    if case.out:
        case.out_dir = work / "out" / case.key
        argv += ["--out", str(case.out_dir)]
    shown = " ".join(["followup", *case.args])
    for n in range((1 if warmup else 0) + runs):
        r = run_once(argv, work, env)
        if r.returncode != 0:
            tail = "\n".join(r.stderr.strip().splitlines()[-8:])
            case.error = f"exit {r.returncode}"
            case.runs.clear()
            log(f"  {case.key}: FAILED ({case.error})\n{tail}")
            return
        if warmup and n == 0:
            log(f"  {case.key}: warm-up {r.seconds:.2f} s")
            continue
        case.runs.append(r)
        log(f"  {case.key}: run {len(case.runs)}/{runs} {r.seconds:.3f} s, {r.maxrss_kib / 1024:.0f} MiB ({shown})")


def _events(response, sink) -> None:
    """Read server-sent events from ``response``; put (arrival time, data) of each on ``sink``."""
    data: list[str] = []
    for raw in response:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif not line and data:
            sink.put((time.perf_counter(), "\n".join(data)))
            data = []


def measure_serve(case: Case, followup: str, sources: Path, work: Path, env: dict[str, str], saves: int,
                  warmup: bool, log) -> None:
    """Save → updated page: ``followup serve`` on a copy of the sources, a client on ``/events``;
    each save changes one item's commitment and is timed until an event carries the new text."""
    import http.client
    import json
    import queue
    import signal
    import threading

    tree = work / "sources" / "serve"
    shutil.copytree(sources, tree, ignore=shutil.ignore_patterns(".*"))
    item = next(p for p in sorted(tree.glob("*/*/*.y*ml")) if p.name != "policy.yaml" and ORDER_RE.match(p.stem))
    original = item.read_text(encoding="utf-8")
    if "commitment:\n  - " not in original:
        case.error = f"no commitment list in {item.name}"
        return
    proc = subprocess.Popen([followup, "serve", "--sources", str(tree), "--port", "0", "--out", str(work / "out" / "serve")],
                            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        m = re.search(r"http://([\d.]+):(\d+)", proc.stdout.readline().decode("utf-8", "replace"))
        if not m:
            case.error = "serve did not start"
            return
        conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=60)
        conn.request("GET", "/events")
        events: queue.Queue = queue.Queue()
        threading.Thread(target=_events, args=(conn.getresponse(), events), daemon=True).start()
        events.get(timeout=60)  # the state on connecting
        seconds: list[float] = []
        for n in range((1 if warmup else 0) + saves):
            marker = "保存の確認文" + "あいうえおかきくけこさしすせそたちつてと"[n % 20]  # no digits: the page wraps numbers
            started = time.perf_counter()
            item.write_text(original.replace("commitment:\n  - ", f"commitment:\n  - {marker}", 1), encoding="utf-8")
            while True:
                arrived, data = events.get(timeout=60)
                content = json.loads(data).get("content")
                if content and marker in content["body"]:
                    break
            if warmup and n == 0:
                log(f"  {case.key}: warm-up {arrived - started:.3f} s")
            else:
                seconds.append(arrived - started)
                log(f"  {case.key}: save {len(seconds)}/{saves} {seconds[-1]:.3f} s")
            time.sleep(0.3)
        conn.close()
    except (OSError, queue.Empty, ValueError) as exc:
        case.error = f"{type(exc).__name__}: {exc}"
        return
    finally:
        item.write_text(original, encoding="utf-8")
        proc.send_signal(signal.SIGTERM)
        try:
            _, _, usage = os.wait4(proc.pid, 0)
            maxrss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
            proc.returncode = 0
        except ChildProcessError:
            maxrss = 0
    case.runs = [Run(t, int(maxrss), 0, "") for t in seconds]


# --- machine and versions -----------------------------------------------------------

def _cmd(argv: list[str], timeout: float = 60) -> str | None:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    out = (r.stdout or r.stderr).strip()
    return out.splitlines()[0].strip() if r.returncode == 0 and out else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def machine_info(followup: str, load_start: str = "unknown") -> list[tuple[str, str]]:
    python = Path(followup).with_name("python")
    python_exe = str(python) if python.exists() else sys.executable
    probe = ("import importlib.metadata as m, platform\n"
             "def v(n):\n"
             "    try: return m.version(n)\n"
             "    except Exception: return 'not installed'\n"
             "print(platform.python_version(), v('weasyprint'), v('python-docx'), v('pydyf'), sep='|')")
    got = _cmd([python_exe, "-c", probe]) or "?|?|?|?"
    py, weasy, pydocx, pydyf = (got.split("|") + ["?"] * 4)[:4]
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    lo = (_cmd([soffice, "--version"], timeout=120) if soffice else None) or "not installed"
    commit = _cmd(["git", "-C", str(ROOT), "--no-optional-locks", "rev-parse", "--short=12", "HEAD"]) or "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "--no-optional-locks", "status", "--porcelain"],
                           capture_output=True, text=True).stdout.strip() if commit != "unknown" else ""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 0
    return [
        ("Date", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPUs (nproc)", str(cpus)),
        ("CPU model", _cpu_model()),
        ("Memory", _mem_total()),
        ("OS", platform.platform()),
        ("Python", py),
        ("WeasyPrint", weasy),
        ("pydyf", pydyf),
        ("python-docx", pydocx),
        ("LibreOffice", lo),
        ("followup", _cmd([followup, "--version"]) or "unknown"),
        ("Repository commit", commit + (" (with local changes)" if dirty else "")),
        ("Load average (1, 5, 15 min) at start / end", f"{load_start} / {_loadavg()}"),
    ]


def _loadavg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "unknown"


# --- report -------------------------------------------------------------------------

def _pdf_pages(pdf: Path) -> int | None:
    tool = shutil.which("pdfinfo")
    if not tool:
        return None
    try:
        info = subprocess.run([tool, str(pdf)], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    return int(m.group(1)) if m else None


def _outputs(case: Case) -> str:
    if case.out_dir is None or not case.out_dir.is_dir():
        return ""
    parts = []
    for f in sorted(case.out_dir.rglob("*")):
        if f.suffix in (".pdf", ".docx"):
            size = f.stat().st_size
            text = f"{f.suffix[1:].upper()} {size / KIB:,.0f} KB"
            if f.suffix == ".pdf":
                pages = _pdf_pages(f)
                if pages:
                    text += f", {pages} p."
            parts.append(text)
    return "; ".join(parts)


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**pass**" if ok else "**FAIL**")


def render_table(cases: list[Case], items: dict[str, int], pdf: Path | None, official: bool = True) -> tuple[str, bool]:
    by_key = {c.key: c for c in cases}
    base = by_key.get("build")
    base_s = base.median if base else None
    failed = False
    lines = [
        "| Case | Command | Median (s) | Min–max (s) | Peak RSS (MiB) | Output | Target | Result |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for c in cases:
        cmd = "`followup " + " ".join(c.args) + "`"
        if c.tree != "official":
            cmd += f" on ×{c.tree[1:]} sources"
        if c.skipped or c.error:
            why = c.skipped or f"error ({c.error})"
            lines.append(f"| {c.label} | {cmd} | — | — | — | {why} | {c.target} | {'—' if c.skipped else '**ERROR**'} |")
            failed |= bool(c.error)
            continue
        med = c.median
        spread = f"{min(r.seconds for r in c.runs):.2f}–{max(r.seconds for r in c.runs):.2f}"
        peak_mib = c.peak_kib / 1024
        out = _outputs(c)
        n = items.get(c.tree)
        if n and (c.key in ("check", "build") or c.tree != "official"):
            out = f"{n} items" + ("; " + out if out else "")
        ok: bool | None = None
        target = c.target
        if c.key == "check":
            ok = med <= TARGET_CHECK_S
        elif c.key == "build":
            ok = med <= TARGET_BUILD_S
        elif c.key == "preview":
            ok = med <= TARGET_PREVIEW_S
        elif c.key == "diff" and by_key.get("check") and by_key["check"].runs:
            ok = med <= 2 * by_key["check"].median
            out = f"{med / by_key['check'].median:.1f}× check" + ("; " + out if out else "")
        elif c.key == "release":
            ok = med <= TARGET_RELEASE_S
        elif c.key == "serve":
            ok = med <= TARGET_SERVE_S
            out = f"median of {len(c.runs)} saves, from writing the file to the event with the new page"
        elif c.tree != "official" and base_s:
            scale = int(c.tree[1:])
            ratio = med / base_s
            out = f"{ratio:.1f}× the 1× time" + ("; " + out if out else "")
            if scale == 10:
                # Time only: the PDF is laid out by parts in several processes, and ru_maxrss is the largest
                # of them, not their sum; the memory of the whole process tree is judged in the parts table.
                ok = med <= 10 * base_s
                target = f"≤ 10 × 1× ({10 * base_s:.1f} s); memory: see the process-tree sum below"
        failed |= ok is False
        lines.append(f"| {c.label} | {cmd} | {med:.2f} | {spread} | {peak_mib:,.0f} | {out} | {target} | {_verdict(ok)} |")
    if pdf is not None and pdf.is_file():
        size = pdf.stat().st_size
        ok = size <= TARGET_PDF_KIB * KIB
        failed |= not ok
        lines.append(f"| {'Official PDF' if official else 'PDF'} size | `{pdf.name}` from `followup build` | — | — | — | "
                     f"{size / KIB:,.0f} KB ({size:,} bytes) | ≤ {TARGET_PDF_KIB} KB | {_verdict(ok)} |")
    else:
        lines.append(f"| {'Official PDF' if official else 'PDF'} size | `followup build` | — | — | — | not measured | "
                     f"≤ {TARGET_PDF_KIB} KB | — |")
    return "\n".join(lines) + "\n", failed


def write_report(path: Path, table: str, info: list[tuple[str, str]], runs: int, warmup: bool, quick: bool,
                 sources: Path) -> None:
    try:
        shown = sources.resolve().relative_to(ROOT).as_posix() + "/"
    except ValueError:
        shown = str(sources)
    method = (f"{'no warm-up' if not warmup else 'one warm-up run (discarded)'}, then {runs} timed "
              f"run{'s' if runs != 1 else ''}; median wall time of the whole `followup` process "
              "(start-up and imports included). Peak RSS: `ru_maxrss` of the process from `os.wait4` "
              "(the largest of the process and the children it waited for, e.g. LibreOffice). "
              "KB = 1,024 bytes, MiB = 1,048,576 bytes.")
    text = [
        "# Benchmark results",
        "",
        f"Generated by `.venv/bin/python benchmarks/run.py{' --quick' if quick else ''}` "
        f"on sources `{shown}`. See benchmarks/README.md for how to read it.",
        "",
        table,
        method,
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info],
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text), encoding="utf-8")


# --- PDF by parts against one pass ------------------------------------------------------

PARTS_TARGETS = {"cold": 0.6, "edit": 0.35, "preview": 0.6, "x10": 0.6}
TARGET_TREE_MIB = 500
SAMPLE_S = 0.05


def _tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return rss, pss


@dataclass
class TreeRun:
    seconds: float
    rss_kib: int  # peak of the sum over the process tree
    pss_kib: int
    cpu_s: float = 0.0  # user + system time of the whole process tree (every process is waited for by its parent)


def run_tree(argv: list[str], cwd: Path, env: dict[str, str], prefix: list[str] | None = None,
             sample: bool = False) -> TreeRun:
    """Run to completion; wall time, and with ``sample`` the peak sums of RSS and PSS over the whole
    process tree, sampled from /proc every SAMPLE_S (``ru_maxrss`` of children is a maximum, not a sum).

    Timed runs are not sampled: reading every process's smaps_rollup 20 times a second costs a
    good part of one of the two cores (it walks their page tables), and more with more processes,
    so memory is measured in runs of their own (``measure_parts``)."""
    import resource
    import threading

    peak = [0, 0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen((prefix or []) + argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sampling():
        while not done.is_set():
            rss, pss = _tree_memory(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sampling, daemon=True)
    if sample:
        sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    if sample:
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} exit {proc.returncode}: {stderr.decode('utf-8', 'replace')[-1500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TreeRun(seconds, peak[0], peak[1], cpu)


def _touch_status_line(item: Path, original: str, n: int) -> None:
    """Change one status line of ``item`` (a marker before the first 。 after ``status:``)."""
    at = original.find("。", original.find("status:"))
    if at < 0:
        raise RuntimeError(f"{item.name}: no status line to change")
    item.write_text(original[:at] + f"（更新{n}）" + original[at:], encoding="utf-8")


def _edited_item(tree: Path) -> Path:
    """The first item of the middle policy of the tree (an edit in the middle of the document)."""
    policies = sorted(p.parent for p in tree.glob("*/*/policy.yaml"))
    policy = policies[len(policies) // 2]
    return next(p for p in sorted(policy.glob("*.y*ml")) if p.name != "policy.yaml")


@dataclass
class Pair:
    key: str
    label: str
    parts: list[TreeRun] = field(default_factory=list)  # timed runs
    single: list[TreeRun] = field(default_factory=list)
    memory: tuple[TreeRun, TreeRun] | None = None  # one sampled run each way (by parts, one pass)
    error: str | None = None

    def median(self, runs: list[TreeRun]) -> float:
        return statistics.median(r.seconds for r in runs)


def measure_parts(followup: str, sources: Path, x10: Path | None, work: Path, env: dict[str, str], runs: int,
                  ministry: str, log) -> list[Pair]:
    """Each case by parts and with ``--single-pass``, runs interleaved (the machine's load hits both alike)."""
    out = work / "out" / "parts"
    caches = work / "part-caches"
    pairs = [Pair("cold", "cold build (empty cache)"), Pair("edit", "rebuild after a one-item edit (warm cache)"),
             Pair("preview", f"preview -m {ministry} (empty cache)")]
    if x10 is not None:
        pairs.append(Pair("x10", "×10 document (empty cache)"))
    pairs += [Pair("cpu1", "cold build on 1 core (taskset -c 0)"), Pair("cpu2", "cold build on 2 cores (taskset -c 0,1)")]
    edit_tree = work / "sources" / "edit"
    if not edit_tree.exists():
        shutil.copytree(sources, edit_tree, ignore=shutil.ignore_patterns(".*"))
    item = _edited_item(edit_tree)
    original = item.read_text(encoding="utf-8")
    count = 0

    def fresh_cache() -> dict[str, str]:
        nonlocal count
        count += 1
        return dict(env, FOLLOWUP_CACHE_DIR=str(caches / f"c{count}"))

    try:
        for pair in pairs:
            log(pair.label)
            tree = x10 if pair.key == "x10" else edit_tree if pair.key == "edit" else sources
            args = ["preview", "-m", ministry, "-q"] if pair.key == "preview" else ["build", "-q"]
            argv = [followup, *args, "--sources", str(tree), "--out", str(out / pair.key)]
            prefix = {"cpu1": ["taskset", "-c", "0"], "cpu2": ["taskset", "-c", "0,1"]}.get(pair.key)
            if prefix and not shutil.which("taskset"):
                pair.error = "taskset not installed"
                continue
            n_runs = 1 if pair.key == "x10" else runs

            def by_parts(n: int, sample: bool) -> TreeRun:
                if pair.key != "edit":
                    return run_tree(argv, work, fresh_cache(), prefix, sample)
                item.write_text(original, encoding="utf-8")
                warm = fresh_cache()
                run_tree(argv, work, warm)  # fills the cache with the unedited document
                _touch_status_line(item, original, n)
                return run_tree(argv, work, warm, sample=sample)

            try:
                for n in range(n_runs):
                    pair.parts.append(by_parts(n, False))
                    pair.single.append(run_tree(argv + ["--single-pass"], work, fresh_cache(), prefix))
                    log(f"  run {n + 1}/{n_runs}: by parts {pair.parts[-1].seconds:.2f} s, "
                        f"one pass {pair.single[-1].seconds:.2f} s")
                if pair.key not in ("cpu1", "cpu2"):
                    pair.memory = (by_parts(n_runs, True),
                                   run_tree(argv + ["--single-pass"], work, fresh_cache(), prefix, sample=True))
                    log(f"  memory run: by parts {pair.memory[0].pss_kib / 1024:.0f} MiB PSS, "
                        f"one pass {pair.memory[1].pss_kib / 1024:.0f} MiB PSS")
            except RuntimeError as exc:
                pair.error = str(exc).splitlines()[0][:200]
                log(f"  FAILED: {exc}")
    finally:
        item.write_text(original, encoding="utf-8")
    return pairs


def _cores(key: str) -> int:
    """The cores a case's runs may use: those of ``taskset`` for the core cases, else this process's."""
    return {"cpu1": 1, "cpu2": 2}.get(key) or len(os.sched_getaffinity(0))


def render_parts_table(pairs: list[Pair], typst: tuple[float, float] | None) -> str:
    lines = [
        "| Case | By parts: median (s) | `--single-pass`: median (s) | Ratio | CPU, all processes, by parts / one pass (s) | Least ratio the CPU by parts allows | Peak memory, process tree, by parts / one pass (MiB, RSS sum; PSS sum) | Target | Result |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    by_key = {p.key: p for p in pairs}
    for p in pairs:
        if p.error or not p.parts:
            lines.append(f"| {p.label} | — | — | — | — | — | {p.error or 'not run'} | — | **ERROR** |")
            continue
        a, b = p.median(p.parts), p.median(p.single)
        ratio = a / b
        memory = "—"
        if p.memory is not None:
            (rss_a, pss_a), (rss_b, pss_b) = ((r.rss_kib / 1024, r.pss_kib / 1024) for r in p.memory)
            memory = f"{rss_a:,.0f} / {rss_b:,.0f}; {pss_a:,.0f} / {pss_b:,.0f}"
        target, ok = "—", None
        if p.key in PARTS_TARGETS:
            target = f"≤ {PARTS_TARGETS[p.key]}×"
            ok = ratio <= PARTS_TARGETS[p.key]
            if p.key == "x10":
                target += f", ≤ {TARGET_TREE_MIB} MiB (PSS sum)"
                # Judged on the PSS sum: the RSS sum counts a page the forked processes share once per process.
                ok = ok and p.memory is not None and p.memory[0].pss_kib / 1024 <= TARGET_TREE_MIB
        cpu_a, cpu_b = (statistics.median(r.cpu_s for r in runs) for runs in (p.parts, p.single))
        floor = cpu_a / _cores(p.key) / b  # the ratio were the CPU by parts spread over the cores without a gap
        lines.append(f"| {p.label} | {a:.2f} | {b:.2f} | {ratio:.2f}× | {cpu_a:.2f} / {cpu_b:.2f} | {floor:.2f}× | "
                     f"{memory} | {target} | {_verdict(ok)} |")
    if "cpu1" in by_key and "cpu2" in by_key and by_key["cpu1"].parts and by_key["cpu2"].parts:
        one, two = by_key["cpu1"], by_key["cpu2"]
        lines.append(f"| scaling 1 → 2 cores | 1-core / 2-core time: {one.median(one.parts) / two.median(two.parts):.2f} | "
                     f"1-core / 2-core time: {one.median(one.single) / two.median(two.single):.2f} | — | — | — | — | — | — |")
    if typst is not None and "cold" in by_key and by_key["cold"].parts:
        cold = by_key["cold"]
        seconds, _ = typst
        lines.append(f"| Typst on the same content (PDF only, see below) | by parts / Typst: "
                     f"{cold.median(cold.parts) / seconds:.1f}× | one pass / Typst: {cold.median(cold.single) / seconds:.1f}× | — | — | — | "
                     f"Typst {seconds:.2f} s | — | — |")
    return "\n".join(lines) + "\n"


def measure_typst(typst_python: str | None, followup: str, sources: Path, work: Path, env: dict[str, str], runs: int,
                  log) -> tuple[float, float] | None:
    """(median seconds, peak MiB) of Typst compiling ``typst_source.py``'s source of the same content,
    as a whole process of ``typst_python`` (a Python with the PyPI package ``typst``); ``None`` without one."""
    if not typst_python:
        return None
    probe = subprocess.run([typst_python, "-c", "import typst"], capture_output=True)
    if probe.returncode != 0:
        log("typst: not importable by --typst-python; skipped")
        return None
    dump = subprocess.run([followup, "dump", "--json", "--sources", str(sources)], capture_output=True, text=True, env=env)
    if dump.returncode != 0:
        return None
    folder = work / "typst"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "doc.json").write_text(dump.stdout, encoding="utf-8")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from typst_source import source

    (folder / "doc.typ").write_text(source(json.loads(dump.stdout), str(ROOT / "fonts")), encoding="utf-8")
    code = f"import typst; typst.compile('doc.typ', output='doc.pdf', font_paths=[{str(ROOT / 'fonts')!r}])"
    log("typst on the same content")
    timed = []
    for n in range(runs + 1):
        r = run_tree([typst_python, "-c", code], folder, env, sample=True)  # one small process: sampling costs little
        if n:
            timed.append(r)
            log(f"  run {n}/{runs} {r.seconds:.2f} s")
    return statistics.median(r.seconds for r in timed), max(r.rss_kib for r in timed) / 1024


# --- main ---------------------------------------------------------------------------

def default_followup() -> str:
    beside = Path(sys.executable).with_name("followup")
    if beside.exists():
        return str(beside)
    venv = ROOT / ".venv" / "bin" / "followup"
    if venv.exists():
        return str(venv)
    return shutil.which("followup") or "followup"


def build_cases(ministry: str) -> list[Case]:
    cases = [
        Case("check", "check", ["check"], out=False, target=f"≤ {TARGET_CHECK_S} s"),
        Case("build", "build (PDF + DOCX)", ["build", "-q"], target=f"≤ {TARGET_BUILD_S} s"),
        Case("build-pdf", "build, PDF only", ["build", "--no-docx", "-q"]),
        Case("build-docx", "build, DOCX only", ["build", "--no-pdf", "-q"]),
        Case("diff", "diff of the sources against themselves (JSON)", ["diff", "{sources}", "{sources}", "--format", "json"],
             out=False, target="≤ 2 × check"),
        Case("preview", f"preview ({ministry})", ["preview", "-m", ministry, "-q"], target=f"≤ {TARGET_PREVIEW_S} s"),
        Case("release", "build --release (LibreOffice pass)", ["build", "--release", "--allow-dirty", "-q"],
             target=f"≤ {TARGET_RELEASE_S} s", quick=False),
    ]
    cases.append(Case("serve", "serve: save → page updated", ["serve"], out=False, target=f"≤ {TARGET_SERVE_S:g} s"))
    for scale in SCALES:
        cases.append(Case(f"build-x{scale}", f"build, synthetic ×{scale}", ["build", "-q"], tree=f"x{scale}",
                          quick=False, target="—" if scale != 10 else "≤ 10 × 1×, ≤ 500 MiB"))
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per case after the warm-up (default 5)")
    ap.add_argument("--quick", action="store_true",
                    help="tiny run: no warm-up, 1 run, only the small cases (no release, no synthetic documents)")
    ap.add_argument("--sources", type=Path, default=DEFAULT_SOURCES, help="source tree to benchmark (default sources/)")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to write (default benchmarks/results.md)")
    ap.add_argument("--ministry", default=DEFAULT_MINISTRY, help=f"ministry for the preview case (default {DEFAULT_MINISTRY})")
    ap.add_argument("--followup", default=None, help="followup executable (default: the venv's)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (outputs, synthetic sources)")
    ap.add_argument("--parts-only", action="store_true",
                    help="only the comparison of the PDF by parts with --single-pass (and Typst)")
    ap.add_argument("--typst-python", default=None,
                    help="a Python with the PyPI package typst, for the ratio to Typst (not a project dependency)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    runs = 1 if args.quick else args.runs
    warmup = not args.quick
    followup = args.followup or default_followup()
    sources = args.sources.resolve()
    if not (sources / "document.yaml").is_file():
        ap.error(f"{sources} has no document.yaml")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # The cases of the main table build with no part cache (every PDF laid out by parts from scratch);
    # the comparison of the PDF by parts sets a cache folder of its own for each run.
    env["FOLLOWUP_CACHE_DIR"] = ""
    cases = build_cases(args.ministry)
    load_start = _loadavg()
    work = Path(tempfile.mkdtemp(prefix="followup-bench-"))
    items: dict[str, int] = {}
    try:
        log(f"followup: {followup}\nsources:  {sources}\nwork dir: {work}")
        trees = {"official": sources}
        n = _count_items(sources)
        items["official"] = n
        for c in cases:
            if args.quick and not c.quick:
                c.skipped = "skipped (--quick)"
                continue
            if c.tree not in trees:
                scale = int(c.tree[1:])
                dest = work / "sources" / c.tree
                counts = make_synthetic(sources, dest, scale)
                items[c.tree] = counts["items"]
                chk = run_once([followup, "check", "--sources", str(dest)], work, env)
                if chk.returncode != 0:
                    c.error = f"synthetic ×{scale} sources do not pass followup check"
                    log(f"  {c.key}: {c.error}\n{chk.stderr[-2000:]}")
                    continue
                log(f"synthetic ×{scale}: {counts['items']} items in {dest} (followup check passed)")
                trees[c.tree] = dest
            if args.parts_only:
                c.skipped = "skipped (--parts-only)"
                continue
            log(f"{c.label}")
            if c.key == "serve":
                measure_serve(c, followup, trees[c.tree], work, env, 1 if args.quick else SERVE_SAVES, warmup, log)
                continue
            measure(c, followup, trees[c.tree], work, env, runs, warmup, log)
        base = next(c for c in cases if c.key == "build")
        pdf = None
        if base.out_dir and base.out_dir.is_dir():
            pdf = next(iter(sorted(base.out_dir.glob("*.pdf"))), None)
        table, _ = render_table(cases, items, pdf, official=sources == DEFAULT_SOURCES.resolve())
        x10 = trees.get("x10")
        if x10 is None and not args.quick:
            x10 = work / "sources" / "x10"
            items["x10"] = make_synthetic(sources, x10, 10)["items"]
        pairs = measure_parts(followup, sources, x10, work, env, runs if args.quick else min(runs, 3), args.ministry, log)
        typst = measure_typst(args.typst_python, followup, sources, work, env, runs, log)
        table += ("\n## PDF by parts against `--single-pass`\n\n"
                  "Each run as a whole process, by parts and with `--single-pass` in turn. Memory is measured in one "
                  "more run each way, not in the timed runs: the peak of the sum over the process tree, sampled from "
                  f"/proc every {SAMPLE_S * 1000:.0f} ms (RSS counts the pages the forked workers share with their parent "
                  "once per process; PSS shares them out). CPU: user and system time of every process of the "
                  "command, median of the timed runs; the least ratio it allows is that CPU divided by the cores "
                  "and by the one-pass time: the ratio if the processes by parts kept every core busy from start "
                  "to end, so no schedule can beat it. ×10: one timed run each way. "
                  "Typst builds the PDF only; followup builds PDF and DOCX.\n\n" + render_parts_table(pairs, typst))
        if typst is not None:
            table += ("\nTypst: `benchmarks/typst_source.py` makes a minimal Typst source of the same content "
                      "(title, contents, headings, principle boxes, the two-column tables with their text; none of "
                      f"the house's finer rules), compiled to PDF by the PyPI package `typst`; peak {typst[1]:,.0f} MiB.\n")
        info = machine_info(followup, load_start)
        write_report(args.output, table, info, runs, warmup, args.quick, sources)
        print(table)
        log(f"written: {args.output}")
        return 1 if any(c.error for c in cases) else 0
    finally:
        if args.keep:
            log(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _count_items(sources: Path) -> int:
    n = 0
    for pillar in sources.iterdir():
        if pillar.is_dir() and pillar.name not in SKIPPED_DIRS and not pillar.name.startswith("."):
            for policy in pillar.iterdir():
                if policy.is_dir() and not policy.name.startswith("."):
                    n += sum(1 for f in policy.iterdir() if f.is_file() and f.suffix in (".yaml", ".yml")
                             and f.name != "policy.yaml")
    return n


if __name__ == "__main__":
    sys.exit(main())
