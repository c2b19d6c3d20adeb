"""Drives an explorer page in a real browser (the system's chromium, through
Playwright; nothing is downloaded) and checks it against the engine.

    python browser_test.py CHROMIUM PAGE.html EXPECT.json SHOTS_DIR

EXPECT.json, written by tests/explorer.rs from the engine's own numbers:
  steps       number of the page's last step
  forward     number of forward steps
  output      the output's value, as the picture writes it ("220")
  grads       {label: gradient as the picture writes it}, from backward()
  final_grads the gradients on screen at the end, in any order
  exercise    {"step": N, "operand": label, "right": "2.2", "wrong": "2.3"}
  step_numbers {step: [numbers its sentence must say]}
Optional, for micrograd's style (values and gradients in records):
  name         prefix of the screenshots ("explorer")
  value_class  class of the texts that show values ("value"; records: "data")
  output_shown the output's value as the picture shows it (default: output)
  seed_shown   the output's gradient 1 as the picture shows it ("1")
  right_shown  the exercise's answer as the picture shows it (default: right)
Prints what it checked and how long it took; exits 1 on the first failure.
"""

import json
import os
import sys
import time

from playwright.sync_api import sync_playwright


def main():
    chromium, page_path, expect_path, shots = sys.argv[1:5]
    expect = json.load(open(expect_path, encoding="utf-8"))
    url = "file://" + os.path.abspath(page_path)
    start = time.monotonic()
    checks = 0

    def check(condition, message):
        nonlocal checks
        if not condition:
            raise AssertionError(message)
        checks += 1

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 980, "height": 420})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        def counter():
            return page.locator("#step-counter").inner_text()

        def sentence():
            return page.locator("#step-text").inner_text()

        def visible_texts(cls):
            return page.evaluate(
                """cls => Array.from(document.querySelectorAll('svg .' + cls))
                    .filter(t => getComputedStyle(t).visibility !== 'hidden')
                    .map(t => t.textContent)""",
                cls,
            )

        last = expect["steps"]
        forward = expect["forward"]
        name = expect.get("name", "explorer")
        value_class = expect.get("value_class", "value")
        output_shown = expect.get("output_shown", expect["output"])

        # Opens at the end: every value and gradient on screen.
        page.goto(url)
        check(f"step {last} of {last}" in counter(), f"opens at the end: {counter()!r}")
        check(
            sorted(visible_texts("grad")) == sorted(expect["final_grads"]),
            f"final gradients {visible_texts('grad')} != {expect['final_grads']}",
        )
        check(output_shown in visible_texts(value_class), "the output's value is shown")

        # Keyboard: Home, then → through every step.
        page.keyboard.press("Home")
        check(f"step 0 of {last}" in counter(), f"Home: {counter()!r}")
        check(visible_texts("grad") == [], "no gradient before backward")
        for k in range(1, last + 1):
            page.keyboard.press("ArrowRight")
            check(f"step {k} of {last}" in counter(), f"→ to step {k}: {counter()!r}")
            text = sentence()
            if k <= forward:
                check("forward" in text and "\uc21c\uc804\ud30c" in text, f"step {k}: {text!r}")
                check(visible_texts("grad") == [], f"step {k}: gradients before backward")
            else:
                check("\uB178\uB4DC" in text, f"step {k} names the gate in Korean: {text!r}")
            if k == forward:
                check(expect["output"] in text, f"the forward pass ends at {expect['output']}: {text!r}")
                check(output_shown in visible_texts(value_class), "output value on screen")
            if k == forward + 1:
                check(expect.get("seed_shown", "1") in visible_texts("grad"), "backward starts with gradient 1")
                check("backward starts" in text, f"{text!r}")
        # Every gradient backward computed is in some step's sentence and on
        # screen at the end.
        check(
            sorted(visible_texts("grad")) == sorted(expect["final_grads"]),
            "the keyboard walk ends with every gradient",
        )
        page.keyboard.press("ArrowLeft")
        check(f"step {last - 1} of {last}" in counter(), "← steps back")
        page.keyboard.press("End")
        check(f"step {last} of {last}" in counter(), "End")

        # Buttons.
        page.click(".cr-first")
        check(f"step 0 of {last}" in counter(), "first")
        for k in range(1, last + 1):
            page.click(".cr-next")
            check(f"step {k} of {last}" in counter(), f"next to {k}")
        page.click(".cr-next")
        check(f"step {last} of {last}" in counter(), "next stops at the end")
        for k in range(last - 1, -1, -1):
            page.click(".cr-prev")
            check(f"step {k} of {last}" in counter(), f"prev to {k}")
        page.click(".cr-last")
        check(f"step {last} of {last}" in counter(), "last")
        page.locator(".cr-slider").fill(str(forward))
        check(f"step {forward} of {last}" in counter(), "the slider")
        # Play runs to the end by itself.
        page.select_option(".cr-speed", "400")
        page.click(".cr-first")
        page.click(".cr-play")
        page.wait_for_function(
            f"document.getElementById('step-counter').textContent.includes('step {last} of {last}')",
            timeout=20000,
        )
        check(True, "play reaches the end")

        # The sentences carry the engine's numbers.
        sentences = []
        for k in range(0, last + 1):
            page.goto(f"{url}#step={k}")
            sentences.append(sentence())
        for k, numbers in expect.get("step_numbers", {}).items():
            for number in numbers:
                check(number in sentences[int(k)], f"step {k} says {number}: {sentences[int(k)]!r}")
        everything = " ".join(sentences)
        for label, grad in expect["grads"].items():
            check(grad in everything, f"{label}'s gradient {grad} is in no sentence")
            check(label in everything, f"{label} is named in no sentence")

        # #step=N and #step=end.
        page.goto(f"{url}#step=2")
        check(f"step 2 of {last}" in counter(), f"#step=2 opens at 2: {counter()!r}")
        page.goto(f"{url}#step=end")
        check(f"step {last} of {last}" in counter(), "#step=end")

        # Screenshots mid-backward (the README's) and at the end.
        ex = expect["exercise"]
        page.set_viewport_size({"width": 760, "height": 260})
        page.goto(f"{url}#step={forward + 1}")
        page.screenshot(path=os.path.join(shots, f"{name}-backward.png"))
        page.goto(f"{url}#step=end")
        page.screenshot(path=os.path.join(shots, f"{name}-end.png"))

        # Exercise mode: the gradient hidden until typed.
        page.goto(f"{url}#step={ex['step']}&mode=exercise")
        check(page.locator(".cr-mode").get_attribute("aria-pressed") == "true", "exercise mode on")
        answer = page.locator(f"input[aria-label*='{ex['operand']}']")
        check(answer.count() == 1, f"one answer box for {ex['operand']}")
        right_shown = ex.get("right_shown", ex["right"])
        check(right_shown not in visible_texts("grad"), "the answer is hidden")
        answer.fill(ex["wrong"])
        page.click(".cr-check")
        feedback = page.locator("#feedback").inner_text()
        check("wrong" in feedback and ex["wrong"] in feedback, f"{ex['wrong']} rejected: {feedback!r}")
        check("swaps" in feedback or "through" in feedback, f"the rule is named: {feedback!r}")
        answer.fill(ex["right"])
        page.click(".cr-check")
        feedback = page.locator("#feedback").inner_text()
        check("right" in feedback and ex["right"] in feedback, f"{ex['right']} accepted: {feedback!r}")
        page.screenshot(path=os.path.join(shots, f"{name}-exercise.png"), full_page=True)
        page.click(".cr-show")
        check(right_shown in visible_texts("grad"), "show reveals the gradients")

        # Hover: a node's tooltip text.
        page.goto(f"{url}#step=end")
        page.locator("svg g.node").first.hover()
        check("data" in page.locator("#node-info").inner_text(), "hover names a node's data")

        # Inside a notebook's output (not a page of its own): the page's
        # keys and URL stay the notebook's; the explorer's own controls
        # and, once it has the focus, its keys work.
        inner = open(page_path, encoding="utf-8").read()
        body = inner[inner.index("<body>") + len("<body>"):inner.rindex("</body>")]
        notebook = os.path.join(shots, f"{name}-as-notebook-output.html")
        with open(notebook, "w", encoding="utf-8") as out:
            out.write("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                      "<div class='jp-OutputArea'><p>a cell</p>" + body + "</div></body></html>")
        page.goto("file://" + notebook + "#cell-7")
        check(f"step {last} of {last}" in counter(), "a notebook output opens at the end")
        page.keyboard.press("Home")
        check(f"step {last} of {last}" in counter(), "the notebook's keys are not taken")
        check(page.evaluate("window.location.hash") == "#cell-7", "the notebook's URL is left alone")
        page.click(".cr-first")
        check(f"step 0 of {last}" in counter(), "buttons work in a notebook")
        page.focus(".chainrule-explorer")
        page.keyboard.press("ArrowRight")
        check(f"step 1 of {last}" in counter(), "keys work once the explorer has the focus")

        browser.close()

    local = [r for r in requests if not r.startswith("file://")]
    check(local == [], f"the page fetched {local}")
    check(errors == [], f"script errors: {errors}")
    print(f"ok: {checks} checks in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
