"""docs/porting-from-autobahn.md says only what is true: its code runs, its lists are complete.

* Every code block is marked: ``<!-- autobahn-before -->`` (an Autobahn program, run with
  Autobahn|Python), ``<!-- autostrada-after -->`` (its new imports: the same program with
  them runs with autostrada and prints the same), or ``<!-- excerpt: path -->`` (text of
  an example file, which test_examples.py runs).
* The lists of transport options and keys are the ones the code accepts and refuses.
* The examples table lists every example.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

from examples_kit import DOC, EXAMPLES, REPO, run_script

from autostrada.aio import component_config
from autostrada.testing import RouterThread

BLOCK = re.compile(r"^<!-- (.+?) -->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DEFAULT_URL = "ws://127.0.0.1:8080/ws"


def blocks() -> dict[str, list[str]]:
    """Marker -> the code blocks after it."""
    found: dict[str, list[str]] = {}
    for marker, code in BLOCK.findall(DOC.read_text()):
        found.setdefault(marker, []).append(code)
    return found


def test_every_code_block_is_marked() -> None:
    text = DOC.read_text()
    fences = len(re.findall(r"^```", text, re.MULTILINE))
    assert fences % 2 == 0
    marked = sum(len(codes) for codes in blocks().values())
    assert marked == fences // 2, "a code block without a marker comment"
    for marker in blocks():
        assert marker in ("autobahn-before", "autostrada-after") or marker.startswith(
            "excerpt: examples/"
        ), marker


def test_excerpts_are_text_of_the_examples() -> None:
    excerpts = {m: codes for m, codes in blocks().items() if m.startswith("excerpt: ")}
    assert excerpts
    for marker, codes in excerpts.items():
        path = REPO / marker.removeprefix("excerpt: ")
        source = path.read_text()
        for code in codes:
            # Verbatim, or dedented from a function body.
            indented = (textwrap.indent(code, " " * n) for n in range(0, 13, 4))
            assert any(text in source for text in indented), f"not in {path}:\n{code}"


def output_of(interpreter: str, program: str, directory: Path, url: str) -> list[str]:
    path = directory / "program.py"
    path.write_text(program.replace(DEFAULT_URL, url))
    done = run_script([interpreter, str(path)], {})
    assert done.returncode == 0, f"{interpreter}:\n{done.stdout}\n{done.stderr}"
    return [line for line in done.stdout.splitlines() if line.startswith(("2 + 3", "error:"))]


def test_before_runs_with_autobahn_and_after_with_autostrada(
    router: RouterThread, autobahn_interpreter: Path, tmp_path: Path
) -> None:
    [before] = blocks()["autobahn-before"]
    [after] = blocks()["autostrada-after"]
    assert DEFAULT_URL in before
    # "Porting means rewriting the imports": the Autobahn import lines, replaced.
    lines = before.splitlines(keepends=True)
    imports = [i for i, line in enumerate(lines) if line.startswith("from autobahn")]
    assert imports == list(range(len(imports))) and len(after.splitlines()) == len(imports)
    ported = after + "".join(lines[len(imports) :])
    assert "autobahn" not in ported

    expected = ["2 + 3 = 5", "error: wamp.error.no_such_procedure"]
    assert output_of(str(autobahn_interpreter), before, tmp_path, router.url) == expected
    assert output_of(sys.executable, ported, tmp_path, router.url) == expected


def test_the_options_lists_are_the_codes() -> None:
    text = " ".join(DOC.read_text().split())  # paragraphs on one line
    accepted = re.search(r"accepted, in camelCase or snake_case: (.*?)\(seconds", text)
    assert accepted is not None
    names = set(re.findall(r"`(\w+)`", accepted.group(1))) | {"maxMessagePayloadSize"}
    assert names == set(component_config._OPTIONS)
    refused = re.search(r"refused by name: (.*?)\.", text)
    assert refused is not None
    assert set(re.findall(r"`(\w+)`", refused.group(1))) == component_config._UNSUPPORTED_OPTIONS


def test_the_transport_keys_are_the_codes() -> None:
    text = " ".join(DOC.read_text().split())
    keys = re.search(r"The transport keys are Autobahn's \((.*?)\)", text)
    assert keys is not None
    listed = set(re.findall(r"`(\w+)`", keys.group(1)))
    retry = {k for k in component_config.TRANSPORT_KEYS if "retr" in k}
    assert len(retry) == 5 and "the five retry settings" in keys.group(1)
    assert listed | retry == component_config.TRANSPORT_KEYS


def test_the_examples_tables_list_every_example() -> None:
    found = {
        str(path.relative_to(EXAMPLES))
        for path in EXAMPLES.rglob("*.py")
        if path.relative_to(EXAMPLES).parts[0] != "classic"
    }
    in_doc = re.findall(r"^\| `examples/([\w/]+\.py)` \| (.*) \|$", DOC.read_text(), re.M)
    assert {path for path, _ in in_doc} == found
    readme = (EXAMPLES / "README.md").read_text()
    in_readme = re.findall(r"^\| `([\w/]+\.py)` \| (.*) \|$", readme, re.M)
    assert {path for path, _ in in_readme} == found
    # The same description in both (the README may name environment variables too).
    described = dict(in_doc)
    for path, text in in_readme:
        assert text.startswith(described[path]), path


def test_the_class_based_api_section_is_there() -> None:
    assert "\n## Class-based API (ApplicationSession, ApplicationRunner)\n" in DOC.read_text()
