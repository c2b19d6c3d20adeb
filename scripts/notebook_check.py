"""Reads an executed notebook and fails if any cell went wrong.

evcxr reports a panic as text and nbconvert still exits 0, so the outputs
are the only witness: an error output, anything written to stderr, or a
panic message in any output fails the notebook. Colour codes are stripped
before reading and printing.

Usage: notebook_check.py EXECUTED.ipynb [--update SOURCE.ipynb]
"""

import re
import sys

import nbformat

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def text(value):
    return ANSI.sub("", "".join(value) if isinstance(value, list) else str(value))


def problems(notebook):
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        where = f"cell {number} ({text(cell.source).splitlines()[0][:60] if cell.source else ''})"
        stderr = "".join(
            text(o.get("text", ""))
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"
        )
        if stderr:
            yield f"{where} wrote to stderr:\n{stderr}"
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                trace = text(output.get("traceback", []))
                yield f"{where}: {text(output.get('ename', ''))}: {text(output.get('evalue', ''))}\n{trace}"
            elif kind == "stream" and output.get("name") == "stderr":
                continue  # reported above, in one piece
            else:
                body = text(output.get("text", "")) + "".join(
                    text(v) for k, v in output.get("data", {}).items() if k.startswith("text/")
                )
                if "panicked at" in body:
                    yield f"{where} panicked:\n{body}"


def main():
    executed = nbformat.read(sys.argv[1], as_version=4)
    found = list(problems(executed))
    for problem in found:
        print(f"  FAIL {problem.strip()}")
    if found:
        sys.exit(1)
    if len(sys.argv) == 4 and sys.argv[2] == "--update":
        for cell in executed.cells:
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(executed, sys.argv[3])


if __name__ == "__main__":
    main()
